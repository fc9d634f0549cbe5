import { packageConfig } from '../../tsup.shared.js';

// `shapes` is its own entry: the CLI's `analyze --json` uses the incident shape without loading the server.
// `shims` gives the CommonJS build the `import.meta.url` grpc-encodings.ts requires grpc-js's internals from.
export default packageConfig({ entry: ['src/index.ts', 'src/shapes.ts'], shims: true });
