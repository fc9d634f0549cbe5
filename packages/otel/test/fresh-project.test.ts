/**
 * The support matrix, as a new user meets it: for each OpenTelemetry JS line on its Node version (SDK 1 and
 * SDK 2 on Node 20, SDK 3 on Node 24), a fresh `npm init -y` project installs the README's install line with plain
 * `npm install` (the packed @rootspan tarballs standing in for the registry), saves the README's
 * `otel.mjs` exactly as printed, and runs the README's `node --import ./otel.mjs app.mjs` line with a
 * CommonJS and an ESM express app (checkout → an uninstrumented payment reached by IP). Payment then
 * starts failing: an incident must open, naming payment, from spans that reached the analyzer through the
 * real SDK; SIGTERM must then end the process promptly.
 *
 * Needs the npm registry (CI has it); npm's cache makes reruns fast, and Node 24 is fetched once by
 * helpers/node-runtime.ts.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshProject, packWorkspaces, quickStart, shellWords, start, writeInto, type FreshProject, type Started } from './helpers/fresh-project.js';
import { nodeBinary } from './helpers/node-runtime.js';

const quick = quickStart();
const FIXTURES = fileURLToPath(new URL('./fixtures/fresh/', import.meta.url));
const INCIDENT_OPENED = /^rootspan incident \S+ opened /;

const LINES = [
  {
    sdk: 'SDK 1',
    node: 20,
    install: quick.sdkOneInstall,
    // Its express instrumentation (< 0.48) patches express 4 only.
    express: 'express@4',
    api: /^1\.9\./,
    sdkNode: /^0\.5\d\./,
    core: /^1\./,
    traceSdk: '@opentelemetry/sdk-trace-base',
    batch: 'new BatchSpanProcessor(new RootspanSpanExporter())',
  },
  {
    sdk: 'SDK 2',
    node: 20,
    install: quick.nodeTwentyInstall,
    express: 'express@5',
    api: /^1\.9\./,
    sdkNode: /^0\.2\d\d\./,
    core: /^2\./,
    traceSdk: '@opentelemetry/sdk-trace-base',
    batch: 'new BatchSpanProcessor(new RootspanSpanExporter())',
  },
  {
    sdk: 'SDK 3',
    node: 24,
    install: quick.install,
    express: 'express@5',
    api: /^1\.10\./,
    sdkNode: /^0\.30\d\./,
    core: /^3\./,
    traceSdk: '@opentelemetry/sdk-trace',
    batch: 'new BatchSpanProcessor({ exporter: new RootspanSpanExporter() })',
  },
] as const;
const TSC = fileURLToPath(new URL('../../../node_modules/typescript/bin/tsc', import.meta.url));

let tarballs: string[];
const cleanup: string[] = [];
const running: Started[] = [];

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'rootspan-tarballs-'));
  cleanup.push(dir);
  tarballs = packWorkspaces(dir);
}, 60_000);

afterAll(async () => {
  for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  await Promise.all(cleanup.map((dir) => rm(dir, { recursive: true, force: true })));
}, 120_000);

describe.each(LINES)('$sdk on Node $node, in a fresh project', (line) => {
  let project: FreshProject;

  beforeAll(() => {
    project = freshProject(nodeBinary(line.node), line.sdk.replace(' ', ''));
    cleanup.push(project.dir);
    const words = shellWords(line.install);
    expect(words.slice(0, 2)).toEqual(['npm', 'install']);
    expect(words).toContain('@rootspan/otel');
    // The README's line, with the unpublished @rootspan packages swapped for their tarballs; express is the app's own.
    const args = words.slice(1).flatMap((w) => (w === '@rootspan/otel' ? tarballs : [w]));
    project.npm([...args, line.express, '--prefer-offline', '--no-audit', '--no-fund']);
    writeInto(project, 'otel.mjs', quick.otelMjs);
    for (const f of ['app.cjs', 'app.mjs', 'scenario.cjs', 'payment.cjs']) copyFileSync(join(FIXTURES, f), join(project.dir, f));
  }, 240_000);

  it('installs with a plain npm install: one consistent tree of that SDK line', () => {
    expect(project.installed('@opentelemetry/api')).toMatch(line.api);
    expect(project.installed('@opentelemetry/sdk-node')).toMatch(line.sdkNode);
    expect(project.installed('@opentelemetry/core')).toMatch(line.core);
    expect(project.installed('@rootspan/otel')).toBe('0.1.0');
    // rootspan's peers pull in nothing of the other line.
    if (line.sdk === 'SDK 3') expect(project.installed('@opentelemetry/sdk-trace-base')).toBeUndefined();
    // `npm ls` exits non-zero on any missing or invalid (peer) dependency.
    expect(() => project.npm(['ls', '--all'])).not.toThrow();
  });

  it("rootspan's published types fit that SDK's NodeSDK and BatchSpanProcessor (strict TypeScript)", () => {
    writeInto(
      project,
      'types-check.mts',
      [
        "import { NodeSDK } from '@opentelemetry/sdk-node';",
        `import { BatchSpanProcessor, type ReadableSpan } from '${line.traceSdk}';`,
        "import { rootspan, RootspanSpanExporter, toEngineSpan } from '@rootspan/otel';",
        'const { processor } = rootspan();',
        `new NodeSDK({ spanProcessors: [processor, ${line.batch}] });`,
        'export const convert = (span: ReadableSpan) => toEngineSpan(span);',
        '',
      ].join('\n'),
    );
    const args = [TSC, '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', 'types-check.mts'];
    let errors = '';
    try {
      execFileSync(process.execPath, args, { cwd: project.dir, encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      errors = String((err as { stdout?: string }).stdout ?? err);
    }
    expect(errors).toBe('');
  });

  it('the README quick start, verbatim: a failing callee opens an incident (CommonJS and ESM apps), and SIGTERM ends the process', async () => {
    const run = shellWords(quick.run);
    expect(run).toEqual(['node', '--import', './otel.mjs', 'app.mjs']);
    const variants = ['app.cjs', 'app.mjs'].map((app) => {
      const started = start(project, [...run.slice(0, -1), app]);
      running.push(started);
      return { app, started };
    });
    await Promise.all(
      variants.map(async ({ app, started }) => {
        const payment = (await started.waitFor(/^scenario: payment=/, 20_000)).split('=')[1];
        const line = await started.waitFor(INCIDENT_OPENED, 30_000);
        // No incident while payment was healthy.
        const failingAt = started.lines.findIndex((l) => l === 'scenario: payment failing');
        expect(failingAt, app).toBeGreaterThanOrEqual(0);
        expect(started.lines.slice(0, failingAt).filter((l) => INCIDENT_OPENED.test(l)), app).toEqual([]);
        const incident = JSON.parse(line.slice(line.indexOf(' {') + 1)) as {
          rootCause: { service: string; kind: string };
          explanation: string;
          traceIds: string[];
        };
        expect(incident.rootCause.service, `${app}: ${line}`).toBe(payment);
        expect(incident.rootCause.kind).toBe('errors');
        expect(incident.traceIds.length).toBeGreaterThan(0);
        // The route comes from the express instrumentation: in the ESM app only the loader hook provides it.
        expect(incident.explanation, app).toContain('checkout POST /checkout');

        started.child.kill('SIGTERM');
        // Generous next to the milliseconds it takes; a NodeSDK retrying a missing collector took 8 s here.
        const code = await Promise.race([started.exited, new Promise((r) => setTimeout(() => r('still running 5 s after SIGTERM'), 5000))]);
        expect(code, app).toBe(0);
      }),
    );
  }, 120_000);
});

describe('SDK 3 installed by npm running on Node 20 (a Node 20 build image for a Node 24 runtime)', () => {
  it('resolves one consistent tree: rootspan asks for no `core` of an older line', () => {
    const project = freshProject(nodeBinary(20), 'SDK3-npm20');
    cleanup.push(project.dir);
    // npm on Node 20 prefers engine-compatible versions: a `core` peer of rootspan's resolved to 2.x, whose
    // `api` peer (< 1.10) contradicts SDK 3's, and the install failed with ERESOLVE.
    project.npm(['install', '@opentelemetry/sdk-node@^0.301', '@opentelemetry/api@^1.10', '@opentelemetry/instrumentation-http@^0.301', ...tarballs, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts']);
    expect(project.installed('@opentelemetry/sdk-node')).toMatch(/^0\.30\d\./);
    expect(project.installed('@opentelemetry/api')).toMatch(/^1\.10\./);
    expect(project.installed('@rootspan/otel')).toBe('0.1.0');
    expect(() => project.npm(['ls', '--all'])).not.toThrow();
  }, 240_000);
});
