import { defineConfig } from 'vitest/config';
import { ACCNAME_FILE, patchAccname } from './build.mjs';

export default defineConfig({
  // The content script's bundle changes dom-accessibility-api (build.mjs);
  // the tests run the same code.
  plugins: [{
    name: 'accname-shadow-dom',
    enforce: 'pre',
    transform(code, id) { return ACCNAME_FILE.test(id) ? { code: patchAccname(code, id), map: null } : null; },
  }],
  test: {
    include: ['test/**/*.test.js'],
    server: { deps: { inline: ['dom-accessibility-api'] } },
  },
});
