import { describe, expect, it } from 'vitest';
import { clickPoint } from './events';
import type { SessionEvent } from '../api/types';

const click = (data: SessionEvent['data']): SessionEvent => ({ seq: 1, type: 'click', timestamp: 0, data });

describe('clickPoint', () => {
  it('places a click of the top document by its viewport', () => {
    expect(clickPoint(click({ coordinates: { x: 400, y: 300 }, viewport: { width: 800, height: 600 }, framePath: [] })))
      .toEqual({ x: 0.5, y: 0.5 });
  });

  it('places a click in a frame where the frame sits in the tab', () => {
    // A click at (50, 20) in a 480x240 frame whose viewport starts at
    // (200, 300) of a 1000x800 tab is at (250, 320) of the tab.
    const e = click({
      coordinates: { x: 50, y: 20 }, viewport: { width: 480, height: 240 }, framePath: ['iframe[title="Map"]', 'iframe[title="Store list"]'],
      frameOffset: { x: 200, y: 300 }, topViewport: { width: 1000, height: 800 },
    });
    expect(clickPoint(e)).toEqual({ x: 0.25, y: 0.4 });
  });

  it('does not draw a frame click it cannot place', () => {
    expect(clickPoint(click({ coordinates: { x: 50, y: 20 }, viewport: { width: 480, height: 240 }, framePath: ['#f'] }))).toBe(null);
    expect(clickPoint(click({ coordinates: { x: 1, y: 1 } }))).toBe(null);
  });
});
