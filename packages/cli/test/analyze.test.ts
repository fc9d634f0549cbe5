/**
 * `rootspan analyze` in-process on a simulated payment outage: the `--json` shape, the human report,
 * exit codes, malformed records, input containers (gzip, a JSON array, stdin, several files) and
 * `--config`. Containers are checked by comparing their report with the plain JSONL file's: the same
 * spans in another wrapping must give exactly the same analysis.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeOtlpJson, encodeOtlpJson } from '@rootspan/otlp';
import { SIM_EPOCH } from '@rootspan/sim';
import type { Incident } from '@rootspan/engine';
import type { JsonReport } from 'rootspan';
import { reportedIncidents } from '../src/report.js';
import { healthy, paymentErrors, tempDir } from './helpers/data.js';
import { parseJson, run } from './helpers/run.js';
import { validateReport } from './helpers/validate.js';

const tmp = tempDir();
let payFile: string;
let healthyFile: string;
/** The payment file's lines (one OTLP/JSON request each) and its `--json` report. */
let lines: string[];
let report: JsonReport;

beforeAll(async () => {
  payFile = tmp.scenario('payment.jsonl', paymentErrors());
  healthyFile = tmp.scenario('healthy.jsonl', healthy());
  lines = readFileSync(payFile, 'utf8').split('\n').filter((l) => l !== '');
  const r = await run(['analyze', payFile, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  report = parseJson(r) as JsonReport;
});
afterAll(() => tmp.cleanup());

/** The incident rooted in payment, if any. */
const paymentIncident = (rep: JsonReport) => rep.incidents.find((i) => i.rootCause.service === 'payment');

describe('--json report', () => {
  it('has the documented shape, every field checked', () => {
    expect(validateReport(report)).toEqual([]);
  });

  it('summarises the traffic', () => {
    const s = report.summary;
    const written = lines.reduce((n, l) => n + l.split('"spanId"').length - 1, 0);
    expect(s.spans).toBe(written);
    expect(s.traces).toBeGreaterThan(1000);
    expect(s.services).toEqual(['checkout', 'frontend', 'inventory', 'payment', 'shipping']);
    expect(Date.parse(s.from!)).toBeGreaterThanOrEqual(SIM_EPOCH);
    expect(Date.parse(s.to!)).toBeLessThanOrEqual(SIM_EPOCH + paymentErrors().durationMs + 60_000);
    expect(s.dropped).toBe(0);
    expect(s.malformed).toBe(0);
  });

  it('finds the payment outage: root cause payment POST /payment errors, opened during the fault', () => {
    const fault = paymentErrors().truth.faults[0];
    const inc = paymentIncident(report);
    expect(inc, JSON.stringify(report.incidents.map((i) => i.title))).toBeDefined();
    expect(report.incidents[0]).toBe(inc); // the first incident is the outage, nothing opened before it
    expect(inc!.rootCause).toMatchObject({ service: 'payment', operation: 'POST /payment', kind: 'errors' });
    expect(inc!.rootCause.confidence).toBeGreaterThan(0.5);
    expect(inc!.rootCause.explanation).toMatch(/payment/);
    expect(inc!.candidates[0]).toMatchObject({ service: 'payment', operation: 'POST /payment' });
    expect(inc!.affected).toContainEqual({ service: 'payment', operation: 'POST /payment' });
    expect(inc!.anomalies.some((a) => a.service === 'payment' && a.kind === 'errors')).toBe(true);
    expect(inc!.traceIds.length).toBeGreaterThan(0);
    const opened = Date.parse(inc!.openedAt);
    expect(opened).toBeGreaterThanOrEqual(fault.startMs);
    expect(opened).toBeLessThan(fault.startMs + 60_000);
  });

  it('--fail-on-incident exits 1 on the outage, still printing the report', async () => {
    const r = await run(['analyze', payFile, '--json', '--fail-on-incident']);
    expect(r.code).toBe(1);
    expect(parseJson(r)).toEqual(report);
  });

  it('--fail-on-incident exits 0 on the same traffic without the fault', async () => {
    const r = await run(['analyze', healthyFile, '--fail-on-incident', '--json']);
    expect(r.stderr).toBe('');
    const rep = parseJson(r) as JsonReport;
    expect(rep.incidents.map((i) => i.title)).toEqual([]);
    expect(r.code).toBe(0);
    expect(validateReport(rep)).toEqual([]);
  });
});

describe('human report', () => {
  it('prints the traffic line and each incident with severity, root cause, confidence, explanation, affected', async () => {
    const r = await run(['analyze', payFile]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(''); // stderr is not a terminal here: no progress
    const s = report.summary;
    const out = r.stdout.split('\n');
    expect(out[0]).toMatch(new RegExp(`^${s.spans} spans, ${s.traces} traces, 5 services over 9 min \\(${s.from} → ${s.to}\\)$`));
    const inc = paymentIncident(report)!;
    expect(r.stdout).toContain(`[${inc.severity.toUpperCase()}] ${inc.id} ${inc.title}`);
    expect(r.stdout).toMatch(/\n {2}root cause: payment POST \/payment \(errors, confidence \d+%\)\n/);
    expect(r.stdout).toContain(`  why: ${inc.rootCause.explanation}\n`);
    expect(r.stdout).toMatch(/\n {2}affected: .*payment POST \/payment/);
    expect(r.stdout).toMatch(/\n {2}opened \S+Z, still active\n/);
  });
});

describe('malformed records', () => {
  /**
   * Line 2 is blank (skipped, still counted as a line), line 5 is not JSON, line 6 is a real request
   * whose first span has a bad id: both are reported as file:line and counted, the rest is analysed.
   */
  function brokenFile(): string {
    const bad = JSON.parse(lines[3]) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ spanId: string }> }> }> };
    bad.resourceSpans[0].scopeSpans[0].spans[0].spanId = 'xyz';
    const content = [lines[0], '', lines[1], lines[2], '{"resourceSpans": [', JSON.stringify(bad), ...lines.slice(4)].join('\n');
    return tmp.file('broken.jsonl', `${content}\n`);
  }

  it('are reported on stderr with file:line and counted, and the rest is analysed', async () => {
    const file = brokenFile();
    const r = await run(['analyze', file, '--json']);
    expect(r.code).toBe(0);
    const problems = r.stderr.trimEnd().split('\n');
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(new RegExp(`^rootspan: ${escape(file)}:5: invalid JSON \\(.+\\)$`));
    expect(problems[1]).toMatch(new RegExp(`^rootspan: ${escape(file)}:6: resourceSpans\\[0\\]\\.scopeSpans\\[0\\]\\.spans\\[0\\]: invalid spanId "xyz"$`));
    const rep = parseJson(r) as JsonReport;
    expect(validateReport(rep)).toEqual([]);
    expect(rep.summary.malformed).toBe(2);
    expect(rep.summary.dropped).toBe(report.summary.dropped + 2);
    expect(rep.summary.droppedBy.malformed).toBe(2);
    expect(rep.summary.spans).toBe(report.summary.spans - 1); // only the bad span of line 6 is lost
    expect(paymentIncident(rep)?.rootCause).toMatchObject({ service: 'payment', operation: 'POST /payment', kind: 'errors' });
  });

  it('--strict stops at the first one: exit 2, file and line, no report', async () => {
    const file = brokenFile();
    const r = await run(['analyze', file, '--strict', '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^rootspan: ${escape(file)}:5: invalid JSON \\(.+\\)\\n$`));
  });
});

describe('input containers give the same analysis as the plain JSONL file', () => {
  it('a .jsonl.gz file', async () => {
    const file = tmp.file('payment.jsonl.gz', gzipSync(readFileSync(payFile)));
    const r = await run(['analyze', file, '--json']);
    expect(r.code).toBe(0);
    expect(parseJson(r)).toEqual(report);
  });

  it('a .json file holding an array of requests (a document: analysed in time order, so compared in substance)', async () => {
    const file = tmp.file('payment-array.json', `[\n${lines.join(',\n')}\n]\n`);
    const r = await run(['analyze', file, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rep = parseJson(r) as JsonReport;
    expect(validateReport(rep)).toEqual([]);
    expect(gist(rep)).toEqual(gist(report));
  });

  it('stdin (-), plain', async () => {
    const r = await run(['analyze', '-', '--json'], { stdin: readFileSync(payFile) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(parseJson(r)).toEqual(report);
  });

  it('stdin (-), gzipped, with --strict (clean input passes strict mode)', async () => {
    const r = await run(['analyze', '-', '--json', '--strict'], { stdin: gzipSync(readFileSync(payFile)) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(parseJson(r)).toEqual(report);
  });

  it('stdin (-) holding one document (one line, pretty-printed, an array): the report of the .json file, nothing late', async () => {
    // One request listing each service's spans together (minutes apart in file order), and the array above.
    const request = encodeOtlpJson(lines.flatMap((l) => decodeOtlpJson(JSON.parse(l)).spans));
    for (const [name, text] of [
      ['request.json', JSON.stringify(request)],
      ['request-pretty.json', JSON.stringify(request, null, 2)],
      ['array.json', `[\n${lines.join(',\n')}\n]\n`],
    ]) {
      const fromFile = await run(['analyze', tmp.file(name, text), '--json']);
      const fromStdin = await run(['analyze', '-', '--json'], { stdin: text });
      expect(fromStdin.stderr, name).toBe('');
      expect(fromStdin.code, name).toBe(0);
      const rep = parseJson(fromStdin) as JsonReport;
      expect(rep.summary.dropped, name).toBe(0);
      expect(rep, name).toEqual(parseJson(fromFile));
    }
  });

  it('several files, read in order into one analysis', async () => {
    const half = Math.floor(lines.length / 2);
    const a = tmp.file('part-a.jsonl', `${lines.slice(0, half).join('\n')}\n`);
    const b = tmp.file('part-b.jsonl.gz', gzipSync(`${lines.slice(half).join('\n')}\n`));
    const r = await run(['analyze', a, b, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(parseJson(r)).toEqual(report);
  });

  it("a directory: its trace files in time order (the file exporter's rotated files before the current one), nothing else", async () => {
    const third = Math.floor(lines.length / 3);
    const dir = join(tmp.dir, 'rotated');
    mkdirSync(join(dir, 'old'), { recursive: true });
    writeFileSync(join(dir, 'traces-2026-01-01T00-00-00.000.jsonl'), `${lines.slice(0, third).join('\n')}\n`);
    writeFileSync(join(dir, 'traces-2026-01-01T00-05-00.000.jsonl.gz'), gzipSync(`${lines.slice(third, 2 * third).join('\n')}\n`));
    writeFileSync(join(dir, 'traces.jsonl'), `${lines.slice(2 * third).join('\n')}\n`);
    writeFileSync(join(dir, 'README.md'), 'not traces');
    writeFileSync(join(dir, 'old', 'traces.jsonl'), 'not read: subdirectories are not');
    const r = await run(['analyze', dir, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(parseJson(r)).toEqual(report);
    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty);
    const none = await run(['analyze', empty]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(`rootspan: cannot read ${empty}: a directory without trace files (.jsonl, .json, .pb, gzip or zstd of them)\n`);
  });

  it('a directory with a FIFO and a link to nothing among its trace files: those are skipped and told, the rest analysed', async () => {
    const dir = join(tmp.dir, 'odd-entries');
    mkdirSync(dir);
    writeFileSync(join(dir, 'traces.jsonl'), `${lines.join('\n')}\n`);
    execFileSync('mkfifo', [join(dir, 'pipe.jsonl')]);
    symlinkSync(join(dir, 'gone.jsonl'), join(dir, 'link.jsonl'));
    const r = await run(['analyze', dir, '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n').filter(Boolean).sort()).toEqual([
      `rootspan: ${join(dir, 'link.jsonl')}: skipped, a link to nothing`,
      `rootspan: ${join(dir, 'pipe.jsonl')}: skipped, not a regular file (a FIFO, socket or device)`,
    ]);
    expect(parseJson(r)).toEqual(report);
  });

  it('a directory whose names are no time order (per-trace downloads named by trace id): read in time order', async () => {
    const dir = join(tmp.dir, 'by-id');
    mkdirSync(dir);
    // Five parts, named so that name order is none of time order.
    const part = Math.ceil(lines.length / 5);
    ['d', 'b', 'e', 'a', 'c'].forEach((name, i) => writeFileSync(join(dir, `${name}.jsonl`), `${lines.slice(i * part, (i + 1) * part).join('\n')}\n`));
    const r = await run(['analyze', dir, '--json']);
    expect(r.stderr).toBe('');
    const got = parseJson(r) as JsonReport;
    expect(got.summary.dropped).toBe(0);
    expect(got.incidents).toEqual(report.incidents);
  });

  it("a directory of each service's exports, 30 s to a file (a recorder's): the JSONL file's analysis", async () => {
    const dir = join(tmp.dir, 'exports');
    mkdirSync(dir);
    const byService = new Map<string, string[]>();
    for (const line of lines) {
      const service = decodeOtlpJson(JSON.parse(line)).spans[0].service;
      byService.set(service, [...(byService.get(service) ?? []), line]);
    }
    // Five exports (5 s apart) to a file, as JSON arrays of requests: each file a document.
    for (const [service, own] of byService) {
      for (let i = 0; i * 6 < own.length; i++) writeFileSync(join(dir, `${service}-${String(i).padStart(4, '0')}.json`), `[${own.slice(i * 6, i * 6 + 6).join(',')}]`);
    }
    const r = await run(['analyze', dir, '--json']);
    expect(r.stderr).toBe('');
    const got = parseJson(r) as JsonReport;
    // Each file analysed apart from the next (flushed at its end), a trace's halves in two services' files
    // reached the analyzer apart: the callers' calls without their answers.
    expect(got.summary).toEqual(report.summary);
    expect(got.incidents).toEqual(report.incidents);
  });

  it('files given out of time order: the late spans are named on stderr, and exit 2 when most of the input was dropped so', async () => {
    const dir = join(tmp.dir, 'reversed');
    mkdirSync(dir);
    // Given in this order: the last fifth comes first.
    const cut = lines.length - Math.floor(lines.length / 5);
    writeFileSync(join(dir, 'a.jsonl'), `${lines.slice(cut).join('\n')}\n`);
    writeFileSync(join(dir, 'b.jsonl'), `${lines.slice(0, cut).join('\n')}\n`);
    const r = await run(['analyze', join(dir, 'a.jsonl'), join(dir, 'b.jsonl'), '--json']);
    const { summary } = parseJson(r) as JsonReport;
    expect(summary.dropped).toBeGreaterThan(summary.spans / 2);
    expect(r.stderr).toMatch(/^rootspan: \d+ of \d+ spans \(\d+%\) were dropped as late: the input goes back in time by minutes/);
    expect(r.code).toBe(2);
    writeFileSync(join(dir, 'c.jsonl'), `${lines.join('\n')}\n`);
    // Less than half of the input late: reported, the analysis of the rest stands.
    const some = await run(['analyze', join(dir, 'c.jsonl'), join(dir, 'b.jsonl')]);
    expect(some.stderr).toMatch(/were dropped as late/);
    expect(some.code).toBe(0);
  });
});

describe('--config', () => {
  it('a threshold override changes the outcome: error and traffic detectors made blind, no incident', async () => {
    // errors.rate above 100% disables the threshold rule, sensitiveMinErrors the significance rule; with
    // errors out of the way the payment outage still shows as a traffic drop downstream (shipping is
    // no longer called), so that detector gets a learning period that never ends.
    const config = tmp.file('blind.json', JSON.stringify({ errors: { rate: 2, sensitiveMinErrors: 1e9 }, traffic: { minBuckets: 1e9 } }));
    const r = await run(['analyze', payFile, `--config=${config}`, '--json', '--fail-on-incident']);
    expect(r.stderr).toBe('');
    const rep = parseJson(r) as JsonReport;
    expect(rep.incidents.map((i) => i.title)).toEqual([]);
    expect(rep.summary).toEqual(report.summary);
    expect(r.code).toBe(0);
  });
});

/** What an analysis found, without the order of equally ranked details. */
function gist(rep: JsonReport) {
  return {
    summary: rep.summary,
    incidents: rep.incidents.map((i) => ({
      status: i.status,
      severity: i.severity,
      openedAt: i.openedAt,
      rootCause: { service: i.rootCause.service, operation: i.rootCause.operation, kind: i.rootCause.kind },
      candidates: i.candidates.map((c) => `${c.service} ${c.operation}`),
      affected: i.affected.map((a) => `${a.service} ${a.operation}`).sort(),
    })),
  };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('the incidents a report lists', () => {
  it('leaves out one merged into another (its anomalies are in that one), keeping every other resolution', () => {
    const inc = (id: string, resolvedBy: Incident['resolvedBy']): Incident => ({ id, resolvedBy }) as Incident;
    const all = [inc('inc-1', null), inc('inc-2', 'merged'), inc('inc-3', 'auto'), inc('inc-4', 'user'), inc('inc-5', 'adapted')];
    expect(reportedIncidents(all).map((i) => i.id)).toEqual(['inc-1', 'inc-3', 'inc-4', 'inc-5']);
  });
});
