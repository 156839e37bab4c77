import { defineConfig } from 'vite';

// The game talks to its own origin; Vite forwards the API to the Parley proxy, so no CORS setup is needed.
const proxyTarget = `http://127.0.0.1:${process.env['PARLEY_PROXY_PORT'] ?? 8787}`;
const proxy = {
  '/v1': { target: proxyTarget },
  '/healthz': { target: proxyTarget },
};

export default defineConfig({
  server: { port: 5173, proxy },
  preview: { port: 4173, proxy },
  build: {
    target: 'es2022',
    // Phaser is ~1.4 MB and changes far less often than the game: keep it in its own cacheable chunk.
    chunkSizeWarningLimit: 1600,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            {
              name: 'phaser',
              test: /[\\/]node_modules[\\/](\.pnpm[\\/]phaser@[^\\/]+[\\/]node_modules[\\/])?phaser[\\/]/,
            },
          ],
        },
      },
    },
  },
});
