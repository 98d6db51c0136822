/**
 * Builds the dashboard (Preact + uPlot + MQTT.js) into dist/dashboard, served by the hub at `/`.
 * Everything is bundled: no CDN, no external fonts (the hub runs offline on a LAN).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  // dashboard/public: the service worker (/sw.js), the web app manifest and its icons, copied as they are.
  publicDir: fileURLToPath(new URL('./public', import.meta.url)),
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 600,
  },
});
