import { defineConfig } from 'tsup';

// ESM only: the suite is a private tool, and run.ts starts worker threads from its own module URL.
export default defineConfig({
  entry: ['src/index.ts', 'src/run.ts', 'src/demo.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
