import { packageConfig } from '../../tsup.shared.js';

// `shapes` is its own entry: the CLI's `analyze --json` uses the incident shape without loading the server.
export default packageConfig({ entry: ['src/index.ts', 'src/shapes.ts'] });
