import { defineConfig } from 'vitest/config';

// One runner for every unit and cross-package test; Playwright owns only test/e2e.
export default defineConfig({
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'test/conformance/**/*.test.ts',
      'test/unit/**/*.test.ts',
      'test/security/**/*.test.ts',
      'test/multi-instance/**/*.test.ts',
    ],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
