#!/usr/bin/env node
// Thin launcher: the CLI itself is compiled to dist/ by the package build.
import('../dist/main.js').then((m) => m.main(process.argv.slice(2))).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`rootspan: ${err && err.stack ? err.stack : err}\n`); process.exitCode = 2; },
);
