/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The dev server proxies API calls to a running worker; CODESIGHT_SERVER
// points it elsewhere than the default port.
const server = process.env.CODESIGHT_SERVER ?? 'http://127.0.0.1:8787';

// The extension id is fixed by the manifest key of extension-chrome/; read it
// at build time so workers do not have to type it (settings can override it).
function extensionId(): string {
  if (process.env.VITE_EXTENSION_ID) return process.env.VITE_EXTENSION_ID;
  const file = fileURLToPath(new URL('../extension-chrome/extension-id.json', import.meta.url));
  if (!existsSync(file)) return '';
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof parsed === 'string') return parsed;
  // The file is {"extensionId": "..."} (extension-chrome/README.md).
  if (parsed && typeof parsed === 'object') {
    const o = parsed as { extensionId?: unknown; id?: unknown };
    if (typeof o.extensionId === 'string') return o.extensionId;
    if (typeof o.id === 'string') return o.id;
  }
  return '';
}

export default defineConfig({
  plugins: [react(), tailwindcss()],
  define: { __EXTENSION_ID__: JSON.stringify(extensionId()) },
  server: {
    proxy: {
      '/api': server,
      '/health': server,
      '/metrics': server,
      // The extension streams to the page's own origin (its trusted server).
      '/extension-ws': { target: server.replace(/^http/, 'ws'), ws: true },
    },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
  },
});
