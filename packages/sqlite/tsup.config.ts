import { packageConfig } from '../../tsup.shared.js';

// shims: the CJS build gets an import.meta.url (the driver loads better-sqlite3 with createRequire).
export default packageConfig({ shims: true });
