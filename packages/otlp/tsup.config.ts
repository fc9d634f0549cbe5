import { packageConfig } from '../../tsup.shared.js';

// read-worker.ts is the decoding worker's entry, started by path from the bundle (threaded.ts); `shims`
// gives the CommonJS build the `import.meta.url` that path is resolved against.
export default packageConfig({ entry: ['src/index.ts', 'src/read-worker.ts'], shims: true });
