// Builds the workspace packages in dependency order (npm's --workspaces order is alphabetical).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const order = ['engine', 'otlp', 'sim', 'otel', 'server', 'postgres', 'cli', 'eval', 'bench'];
for (const name of order) {
  const dir = `packages/${name}`;
  if (!existsSync(`${dir}/package.json`)) continue;
  execFileSync('npm', ['run', 'build', '--silent', '-w', dir], { stdio: 'inherit' });
}
