// Imported first by the helpers Node.js 24 runs on TypeScript sources (`--experimental-transform-types`):
// the sources import each other as `./x.js` (as built), resolved here to `./x.ts`.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (err) {
      if (specifier.startsWith('.') && specifier.endsWith('.js')) return next(`${specifier.slice(0, -3)}.ts`, context);
      throw err;
    }
  },
});
