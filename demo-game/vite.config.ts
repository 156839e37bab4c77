import { defineConfig } from 'vite';

// The game talks to its own origin; Vite forwards the API to the Parley proxy, so no CORS setup is needed.
const proxyTarget = `http://127.0.0.1:${process.env['PARLEY_PROXY_PORT'] ?? 8787}`;
const proxy = {
  '/v1': { target: proxyTarget },
  '/healthz': { target: proxyTarget },
};

// No fixed port: Vite takes the first free one from its default (5173 dev, 4173 preview), so two checkouts
// or a busy port still run; `PORT` asks for one exactly (and fails if it is taken rather than moving).
const port = process.env['PORT'] ? Number(process.env['PORT']) : undefined;
const listen = { port, strictPort: port !== undefined };

export default defineConfig({
  server: { ...listen, proxy },
  preview: { ...listen, proxy },
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
