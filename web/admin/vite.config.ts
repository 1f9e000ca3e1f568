// Vite builds the panel into the directory hecs-control serves (web_root); Vitest runs the
// component and API-client tests in jsdom. No React plugin: esbuild compiles JSX itself, and
// the panel needs no fast refresh to be built (docs/admin-panel.md).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  esbuild: { jsx: 'automatic' },
  build: {
    emptyOutDir: true,
    // The preload polyfill would be an inline script, which the panel's CSP refuses.
    modulePreload: { polyfill: false },
    target: 'es2022',
    reportCompressedSize: true,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
