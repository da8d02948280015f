import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { VideoWithEvents } from '../VideoWithEvents';
import { readableSteps } from '../../lib/steps';
import type { MediaUpload, SessionEvent } from '../../api/types';

const started = Date.parse('2025-03-01T10:00:00.000Z');
const media: MediaUpload = {
  uploadId: 'u', kind: 'screen', contentType: 'video/webm', sizeBytes: 10, status: 'complete',
  url: 'http://s3.local/v.webm', recordingStartedAt: new Date(started).toISOString(),
};
const events: SessionEvent[] = [
  { seq: 1, type: 'navigation', timestamp: started + 500, data: { url: 'http://shop/' } },
  { seq: 2, type: 'click', timestamp: started + 2000, selector: '#buy', data: { coordinates: { x: 400, y: 300 }, viewport: { width: 800, height: 600 }, element: { text: 'Buy now' } } },
  { seq: 3, type: 'input', timestamp: new Date(started + 4000).toISOString(), data: { value: 'shoes', element: { name: 'Search' } } },
];

function renderWithVideo() {
  render(<VideoWithEvents media={media} events={events} steps={readableSteps(events)} />);
  const video = screen.getByTestId('session-video') as HTMLVideoElement;
  // jsdom has no layout or decoder: give the element a size and the picture 4:3.
  Object.defineProperties(video, {
    clientWidth: { value: 640 }, clientHeight: { value: 360 }, videoWidth: { value: 800 }, videoHeight: { value: 600 },
  });
  fireEvent(video, new Event('loadedmetadata'));
  return video;
}

function playTo(video: HTMLVideoElement, t: number) {
  video.currentTime = t;
  fireEvent.timeUpdate(video);
}

describe('VideoWithEvents', () => {
  it('lists steps at their offsets into the video and seeks on click', async () => {
    const video = renderWithVideo();
    const items = screen.getAllByTestId('step');
    expect(items.map((li) => li.textContent)).toEqual([
      expect.stringContaining('0:00.5'), expect.stringContaining('0:02.0'), expect.stringContaining('0:04.0'),
    ]);
    expect(items.map((li) => li.textContent)).toEqual([
      expect.stringContaining('Opened shop'), expect.stringContaining('Clicked “Buy now”'), expect.stringContaining('Typed “shoes” into “Search”'),
    ]);
    await userEvent.setup().click(screen.getByRole('button', { name: /Typed “shoes” into “Search”/ }));
    expect(video.currentTime).toBe(4);
    expect(items[2]).toHaveAttribute('aria-current', 'step');
  });

  it('highlights the current event while playing and draws the click where it happened', () => {
    const video = renderWithVideo();
    playTo(video, 1);
    expect(screen.getAllByTestId('step')[0]).toHaveAttribute('aria-current', 'step');
    expect(screen.queryByTestId('click-marker')).toBeNull();
    playTo(video, 2.2);
    expect(screen.getAllByTestId('step')[1]).toHaveAttribute('aria-current', 'step');
    const marker = screen.getByTestId('click-marker');
    // 800x600 picture letterboxed into 640x360: 480x360 at left 80; the click is its centre.
    expect(marker.style.left).toBe('320px');
    expect(marker.style.top).toBe('180px');
    playTo(video, 5);
    expect(screen.queryByTestId('click-marker')).toBeNull();
  });

  it('says when there is no recording', () => {
    render(<VideoWithEvents media={null} events={events} steps={readableSteps(events)} />);
    expect(screen.getByText('This session has no recording.')).toBeInTheDocument();
    expect(screen.getAllByTestId('step')).toHaveLength(3);
  });
});

describe('VideoWithEvents and a WebM without a duration', () => {
  it('has the browser find the end, then goes back to the start', () => {
    let duration = Infinity;
    render(<VideoWithEvents media={media} events={events} steps={readableSteps(events)} />);
    const video = screen.getByTestId('session-video') as HTMLVideoElement;
    Object.defineProperty(video, 'duration', { get: () => duration });
    fireEvent(video, new Event('loadedmetadata'));
    expect(video.currentTime).toBe(Number.MAX_SAFE_INTEGER);
    // While the browser looks, the position is no step's.
    fireEvent.timeUpdate(video);
    expect(screen.getAllByTestId('step').some((s) => s.hasAttribute('aria-current'))).toBe(false);
    duration = 3.2;
    fireEvent(video, new Event('durationchange'));
    expect(video.currentTime).toBe(0);
    playTo(video, 2.2);
    expect(screen.getAllByTestId('step')[1]).toHaveAttribute('aria-current', 'step');
  });
});
