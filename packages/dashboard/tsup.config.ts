import { packageConfig } from '../../tsup.shared.js';

// `shims` gives the CommonJS build an import.meta.url, which locates the bundle beside it.
export default packageConfig({ shims: true });
