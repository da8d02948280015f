// Roles and accessible names by the W3C rules (html-aam, accname), computed
// by dom-accessibility-api, the implementation Testing Library uses. The
// recordings are replayed with Playwright, whose getByRole computes names
// with its own implementation of the same rules; where the two differ on
// real pages, this file holds the difference and why, so that a recorded
// role and name always resolve under Playwright to the recorded element
// (test/e2e/accessibility.test.js compares them on every fixture page).
//
// The build (extension-chrome/build.mjs) also makes dom-accessibility-api
// read an element's open shadow root instead of its light children when it
// collects a name from content, as accname 1.2 says (its issue #768).
import { computeAccessibleName, getRole } from 'dom-accessibility-api';
import { normalizeSpace, parentOf } from './dom.js';

// jsdom (the unit tests) cannot compute ::before/::after styles.
const PSEUDO_ELEMENTS = !/jsdom/i.test(globalThis.navigator ? navigator.userAgent : '');
// Inputs named by their placeholder when nothing else names them (html-aam;
// dom-accessibility-api does not implement this step, Playwright does).
const PLACEHOLDER_TYPES = new Set(['text', 'password', 'number', 'search', 'tel', 'email', 'url']);

export function roleOf(el) {
  return getRole(el);
}

// The accessible name, whitespace-normalized as Playwright compares it.
export function nameOf(el) {
  let name = normalizeSpace(computeAccessibleName(el, { computedStyleSupportsPseudoElements: PSEUDO_ELEMENTS }));
  if (name === '' && usesPlaceholder(el) && !el.hasAttribute('aria-labelledby')) {
    name = normalizeSpace(el.getAttribute('placeholder'));
  }
  // Browsers and Playwright say "Submit" where the library says "Submit Query".
  if (name === 'Submit Query' && el.localName === 'input' && el.type === 'image') name = 'Submit';
  return name;
}

function usesPlaceholder(el) {
  if (el.localName === 'textarea') return true;
  return el.localName === 'input' && PLACEHOLDER_TYPES.has(el.type);
}

// Hidden from the accessibility tree as Playwright's getByRole decides it:
// not rendered (checkVisibility) or visibility other than visible, or, on
// itself or an ancestor of the composed tree, display none, aria-hidden, or
// being a light child of a shadow host that no slot shows. `chain` caches
// the ancestors' answers for the length of one call.
export function hiddenForAria(el, chain = new Map()) {
  if (/^(?:style|script|noscript|template)$/.test(el.localName)) return true;
  const view = el.ownerDocument.defaultView;
  if (el.localName !== 'slot' && !(el.localName === 'option' && el.closest('select'))) {
    if (el.checkVisibility && !el.checkVisibility()) return true;
    if (view.getComputedStyle(el).visibility !== 'visible') return true;
  }
  return hiddenChain(el, view, chain);
}

function hiddenChain(n, view, chain) {
  let hidden = chain.get(n);
  if (hidden === undefined) {
    const parent = n.parentElement;
    hidden = (!!parent && !!parent.shadowRoot && !n.assignedSlot) ||
      n.getAttribute('aria-hidden') === 'true' ||
      view.getComputedStyle(n).display === 'none';
    if (!hidden) {
      const up = parentOf(n);
      hidden = !!up && hiddenChain(up, view, chain);
    }
    chain.set(n, hidden);
  }
  return hidden;
}
