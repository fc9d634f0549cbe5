import { packageConfig } from '../../tsup.shared.js';

// The services are CommonJS so the SDK's require hooks (loaded first with `--require dist/otel.cjs`) patch
// express, http and better-sqlite3; the tools that start them (demo, recorder) are ESM.
export default [
  packageConfig({
    entry: ['src/otel.ts', 'src/service.ts', 'src/db-locker.ts'],
    format: ['cjs'],
    dts: false,
    clean: false,
  }),
  packageConfig({
    entry: ['src/demo.ts', 'src/record.ts', 'src/index.ts'],
    format: ['esm'],
    dts: false,
    clean: false,
  }),
];
