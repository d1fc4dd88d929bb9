// The console's build: Preact's JSX through esbuild (no plugin), a static bundle in dist/ that any
// web server can serve (`scripts/run-local` serves it on 127.0.0.1:8080), and its unit tests.
import { defineConfig } from 'vite';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2048 },
  server: { host: '127.0.0.1', port: 8080, strictPort: true },
  preview: { host: '127.0.0.1', port: 8080, strictPort: true },
  test: { environment: 'happy-dom', include: ['test/**/*.test.{js,jsx}'] },
});
