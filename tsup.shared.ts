import { defineConfig, type Options } from 'tsup';

/**
 * The build every workspace package shares: ESM + CJS + .d.ts for Node 20, with source maps. A package's
 * `tsup.config.ts` passes only what differs (entries, formats, defines).
 */
export function packageConfig(overrides: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    ...overrides,
  });
}
