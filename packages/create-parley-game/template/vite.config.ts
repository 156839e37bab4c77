import { defineConfig } from 'vite';

// The game calls its own origin (`url: ''`) and Vite forwards the API to the Parley proxy, in `vite` (dev)
// and `vite preview` alike, so the proxy needs no CORS setup. PARLEY_PROXY_URL: a proxy elsewhere.
const proxy = { '/v1': { target: process.env.PARLEY_PROXY_URL ?? 'http://127.0.0.1:8787' } };

export default defineConfig({
  server: { proxy },
  preview: { proxy },
  // Phaser alone is ~1.2 MB minified.
  build: { chunkSizeWarningLimit: 2000 },
});
