// Builds the workspace packages in dependency order (npm's --workspaces order is alphabetical).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const order = ['engine', 'otlp', 'sim', 'sqlite', 'otel', 'dashboard', 'server', 'postgres', 'cli', 'eval', 'bench'].map((name) => `packages/${name}`);
order.push('examples/shop');
for (const dir of order) {
  if (!existsSync(`${dir}/package.json`)) continue;
  execFileSync('npm', ['run', 'build', '--silent', '-w', dir], { stdio: 'inherit' });
}
