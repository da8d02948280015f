// The Playwright selector string of a recorded locator (docs/events.md):
// what page.locator() takes, kept as an event's `selector`. It imports
// only dom.js, so that the service worker can use it unbundled.
import { cssAttr } from './dom.js';

export function playwrightSelector(loc) {
  const q = (s) => JSON.stringify(s);
  let sel;
  switch (loc.by) {
    case 'testId': sel = cssAttr(loc.attribute, loc.value); break;
    case 'role': sel = loc.pattern !== undefined ? `role=${loc.role}[name=/${loc.pattern.replace(/\//g, '\\/')}/u]` : `role=${loc.role}[name=${q(loc.name)}s]`; break;
    case 'label': sel = `internal:label=${q(loc.text)}s`; break;
    case 'placeholder': sel = `internal:attr=[placeholder=${q(loc.text)}s]`; break;
    case 'text': sel = `internal:text=${q(loc.text)}s`; break;
    default: sel = loc.selector;
  }
  if (loc.hasText !== undefined) sel += ` >> internal:has-text=${q(loc.hasText)}i`;
  return loc.within ? playwrightSelector(loc.within) + ' >> ' + sel : sel;
}

