/**
 * @rootspan/dashboard — the web dashboard's static bundle (built from `web/` by `npm run build`), which
 * `@rootspan/server` serves at `/`. This entry only says where the files are.
 */
import { fileURLToPath } from 'node:url';

/** Absolute path of the built dashboard (`index.html` and its assets); empty or missing before a build. */
export const dashboardDir: string = fileURLToPath(new URL('../dist/web/', import.meta.url));
