import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import workspace packages from source, so `vitest` needs no build step.
const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

/** Whole-system tests (test/*.e2e.test.ts). */
const E2E = 'test/**/*.e2e.test.ts';

/**
 * Test files at once. Vitest's default (one fewer than the cores) is a single file at a time on a
 * two-core machine, where most of the suite's wall time is spent waiting (npm installing a fresh project,
 * live services driven in real time), not computing.
 */
const UNIT_WORKERS = Math.max(2, availableParallelism() - 1);
/**
 * The whole-system tests each drive live services at a fixed, modest rate for about a minute (a fifth of
 * a core): they run side by side, so the group takes about as long as the longest of them.
 */
const E2E_WORKERS = 4;

export default defineConfig({
  resolve: {
    alias: {
      '@rootspan/engine': src('engine'),
      '@rootspan/sim': src('sim'),
      '@rootspan/otlp': src('otlp'),
      '@rootspan/eval': src('eval'),
      '@rootspan/otel': src('otel'),
      '@rootspan/sqlite': src('sqlite'),
      // Before '@rootspan/server', which would also match it as a prefix.
      '@rootspan/server/shapes': fileURLToPath(new URL('./packages/server/src/shapes.ts', import.meta.url)),
      '@rootspan/server': src('server'),
      '@rootspan/dashboard': src('dashboard'),
      '@rootspan/postgres': src('postgres'),
      // The CLI package is published as `rootspan`; the eval suite runs it in-process.
      rootspan: src('cli'),
    },
  },
  test: {
    testTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'], exclude: [E2E], maxWorkers: UNIT_WORKERS },
      },
      // Whole-system tests start many processes and judge real timing: they run after the rest, so they
      // neither slow down nor are slowed down by the CPU-bound unit tests running beside them.
      { extends: true, test: { name: 'e2e', include: [E2E], sequence: { groupOrder: 1 }, maxWorkers: E2E_WORKERS } },
    ],
  },
});
