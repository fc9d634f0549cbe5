import { readFileSync } from 'node:fs';
import { packageConfig } from '../../tsup.shared.js';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default packageConfig({
  entry: ['src/index.ts', 'src/main.ts'],
  define: { ROOTSPAN_VERSION: JSON.stringify(version) },
});
