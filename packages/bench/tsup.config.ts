import { defineConfig } from 'tsup';

// ESM only, one entry per benchmark: run.ts forks each benchmark's own file as a child process, so every
// measurement starts from a fresh heap (and NodeSDK's globals never leak from one configuration to the next).
export default defineConfig({
  entry: ['src/run.ts', 'src/ingest.ts', 'src/host.ts', 'src/host-server.ts', 'src/memory.ts', 'src/cli.ts', 'src/soak.ts', 'src/soak-clock.ts'],
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
