// Loads the content scripts (classic scripts that fill globalThis.codesight)
// into the test's global scope.
import '../content/privacy.js';
import '../content/locators.js';

export const { privacy, locators } = globalThis.codesight;
