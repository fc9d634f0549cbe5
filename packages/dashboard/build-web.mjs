// Bundles the browser app (web/) into dist/web/: one script, one stylesheet and the page. No CDN: the
// dashboard works offline. esbuild is the one tsup already uses.
import { copyFileSync, mkdirSync } from 'node:fs';
import { build } from 'esbuild';

const out = new URL('./dist/web/', import.meta.url);
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: new URL('./web/main.tsx', import.meta.url).pathname },
  outdir: out.pathname,
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'eof',
  logLevel: 'warning',
});
copyFileSync(new URL('./web/index.html', import.meta.url), new URL('./index.html', out));
