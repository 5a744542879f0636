// Builds the web UI into dist/web, which `vmhop ui` serves. The UI shares src/protocol
// (zod schemas, error catalogue) with the agent and the CLI, so it is bundled from there.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [react()],
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    chunkSizeWarningLimit: 800,
  },
});
