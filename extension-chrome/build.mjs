// Bundles the content script (content/main.js and the modules and npm
// packages it imports) into dist/content.js, the one file the manifest
// injects. `npm run build`; the service worker and popup need no build.
//
// dom-accessibility-api collects a name from content out of an element's
// light children only, so text in an open shadow root (a web component
// inside a link or button) is missed (its issue #768). accname 1.2 and
// every browser use the shadow root's children instead; the bundle makes
// that one change, and the build fails if the library's code has moved.
import * as esbuild from 'esbuild';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const CHILD_NODES = 'var childNodes = isHTMLSlotElement(node) ? getSlotContents(node) : ArrayFrom(node.childNodes).concat(queryIdRefs(node, "aria-owns"));';
const RENDERED_CHILD_NODES = 'var childNodes = isHTMLSlotElement(node) ? getSlotContents(node) : ArrayFrom((node.shadowRoot || node).childNodes).concat(queryIdRefs(node, "aria-owns"));';

export const ACCNAME_FILE = /dom-accessibility-api[\\/]dist[\\/]accessible-name-and-description\.mjs$/;

// The library's source with the change above (vitest.config.js applies it too).
export function patchAccname(source, file) {
  if (!source.includes(CHILD_NODES)) {
    throw new Error(`${file}: the code build.mjs changes is not there any more; check dom-accessibility-api's shadow DOM support`);
  }
  return source.replace(CHILD_NODES, RENDERED_CHILD_NODES);
}

const shadowDomNames = {
  name: 'accname-shadow-dom',
  setup(build) {
    build.onLoad({ filter: ACCNAME_FILE }, async (args) => ({
      contents: patchAccname(await readFile(args.path, 'utf8'), args.path), loader: 'js',
    }));
  },
};

// Bundles one entry point; tests use it to load modules into a page.
export async function bundle(entry, { outfile, globalName } = {}) {
  return esbuild.build({
    entryPoints: [path.resolve(HERE, entry)],
    bundle: true,
    format: 'iife',
    globalName,
    target: 'chrome116',
    outfile,
    write: !!outfile,
    logLevel: 'warning',
    legalComments: 'none',
    plugins: [shadowDomNames],
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await bundle('content/main.js', { outfile: path.join(HERE, 'dist', 'content.js') });
}
