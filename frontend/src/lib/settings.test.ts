import { afterEach, describe, expect, it } from 'vitest';
import { getSetting, setSetting } from './settings';
import pinnedId from '../../../extension-chrome/extension-id.json';

// The id pinned by extension-chrome's manifest key, as the build must bake it in.
const pinned = pinnedId.extensionId;

describe('extensionId setting', () => {
  afterEach(() => localStorage.clear());

  it('defaults to the id in extension-chrome/extension-id.json', () => {
    expect(pinned).toMatch(/^[a-p]{32}$/);
    expect(getSetting('extensionId')).toBe(pinned);
  });

  it('can be overridden in Settings', () => {
    setSetting('extensionId', 'abcdefghijklmnopabcdefghijklmnop');
    expect(getSetting('extensionId')).toBe('abcdefghijklmnopabcdefghijklmnop');
    setSetting('extensionId', null);
    expect(getSetting('extensionId')).toBe(pinned);
  });
});
