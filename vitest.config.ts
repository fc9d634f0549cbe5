import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import workspace packages from source, so `vitest` needs no build step.
const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@rootspan/engine': src('engine'),
      '@rootspan/sim': src('sim'),
      '@rootspan/otlp': src('otlp'),
      '@rootspan/eval': src('eval'),
      '@rootspan/otel': src('otel'),
      '@rootspan/server': src('server'),
      '@rootspan/postgres': src('postgres'),
      // The CLI package is published as `rootspan`; the eval suite runs it in-process.
      rootspan: src('cli'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
  },
});
