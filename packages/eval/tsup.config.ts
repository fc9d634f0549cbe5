import { packageConfig } from '../../tsup.shared.js';

// ESM only: the suite is a private tool, and run.ts starts worker threads from its own module URL.
export default packageConfig({ entry: ['src/index.ts', 'src/run.ts', 'src/demo.ts'], format: ['esm'] });
