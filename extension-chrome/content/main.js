// The content script's entry point (bundled into dist/content.js by
// build.mjs; MV3 content scripts cannot be ES modules). It runs in every
// frame at document_start; a second injection into the same frame (an
// extension reload) leaves the first in charge.
import { startRecorder } from './recorder.js';

if (!globalThis.__codesightRecorder) {
  globalThis.__codesightRecorder = true;
  startRecorder();
}
