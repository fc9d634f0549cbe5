/**
 * CLI throughput: `rootspan analyze <file> --json --no-progress` through the CLI's real `main` (file
 * stream → OTLP/JSON decoding → analyzer → report), in-process, on a large OTLP/JSON lines file generated
 * once into a temp dir (`writeScenarioFile`, the Collector file-exporter format) and deleted afterwards.
 * Beside it, in the same process, a floor loop over the same file: stream lines, `JSON.parse`, read each
 * span's fields, build its operation key, count into a Map; and rootspan's reader alone (`readOtlpFile`
 * in this thread: read, `JSON.parse`, decode into engine spans, no analysis), which splits the CLI's
 * time into reading + decoding and the engine's analysis. Passes alternate (floor, decode, cli, cli,
 * decode, floor, floor, cli, decode); the ratio is that of the medians, its spread the range of the three
 * floor/cli pairs. Each pass also records the process CPU time it took (all threads, GC helpers included).
 * The floor and the reader run in one thread. When two cores are idle as a pass starts, `rootspan
 * analyze` reads and decodes in a worker thread (in two, the file split between them in line ranges, when
 * three are idle) while its main thread analyses (its default, `--threads` unset); when they are busy with
 * other work it runs in one thread, like the floor. Each pass logs the
 * idle cores the CLI saw.
 */
import { createReadStream, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeFile, writeScenarioFile } from '@rootspan/eval';
import { readOtlpFile } from '@rootspan/otlp';
import { decodersFor, idleCores } from 'rootspan';
import { scenarioByName } from '@rootspan/sim';
import { childMain, forceGc, log, MB, mb, median, sig, type BenchResult, type ChildOptions, type GoalRow } from './common.js';

export const CLI_GOAL_FLOOR_RATIO = 0.8;
export const CLI_STRETCH_FLOOR_RATIO = 1;

const SCENARIO = 'shop-payment-errors';
/** Entry rate: 70 req/s over the scenario's 15 min ≈ 560k spans ≈ 260 MB of OTLP/JSON. */
const FULL_RPS = 70;
const QUICK_RPS = 12;

interface Pass {
  ms: number;
  /** Process CPU time (user + system, every thread) during the pass. */
  cpuMs: number;
  spans: number;
}

/** Runs `pass` after a forced GC, timing its wall and process CPU time. */
async function timed<T extends { spans: number }>(pass: () => Promise<T>): Promise<T & Pass> {
  forceGc();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const r = await pass();
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  return { ...r, ms, cpuMs: (used.user + used.system) / 1000 };
}

/** One `rootspan analyze <file> --json --no-progress` through the CLI's `main`, timed (the report is small). */
function cliPass(file: string): Promise<Pass & { incidents: number; dropped: number }> {
  return timed(async () => {
    const report = await analyzeFile(file);
    return { spans: report.summary.spans, incidents: report.incidents.length, dropped: report.summary.dropped };
  });
}

/** rootspan's reader alone, in this thread: read, `JSON.parse`, decode into engine spans; no analysis. */
function decodePass(file: string): Promise<Pass> {
  return timed(async () => {
    let spans = 0;
    for await (const batch of readOtlpFile(file, { worker: false })) spans += batch.spans.length;
    return { spans };
  });
}

type Obj = Record<string, unknown>;
interface KeyValue {
  key: string;
  value: { stringValue?: string };
}
interface Counter {
  n: number;
  errors: number;
  ns: number;
  ids: number;
}

/** Reads one ExportTraceServiceRequest the way any analysis must at least: every span's fields, its key, a count. */
function floorRequest(req: Obj, counts: Map<string, Counter>): number {
  let spans = 0;
  const resourceSpans = req.resourceSpans as Obj[];
  for (const rs of resourceSpans) {
    let service = '';
    let version = '';
    for (const kv of ((rs.resource as Obj).attributes as KeyValue[]) ?? []) {
      if (kv.key === 'service.name') service = kv.value.stringValue ?? '';
      else if (kv.key === 'service.version') version = kv.value.stringValue ?? '';
    }
    for (const ss of rs.scopeSpans as Obj[]) {
      for (const s of ss.spans as Obj[]) {
        spans++;
        let method: string | undefined;
        let route: string | undefined;
        for (const kv of (s.attributes as KeyValue[] | undefined) ?? []) {
          if (kv.key === 'http.request.method') method = kv.value.stringValue;
          else if (kv.key === 'http.route') route = kv.value.stringValue;
        }
        const kind = s.kind as number;
        const operation = kind === 2 && method !== undefined && route !== undefined ? `${method} ${route}` : (s.name as string);
        const key = `${service}\u0001${operation}`;
        let c = counts.get(key);
        if (c === undefined) {
          c = { n: 0, errors: 0, ns: 0, ids: 0 };
          counts.set(key, c);
        }
        c.n++;
        if ((s.status as { code?: number } | undefined)?.code === 2) c.errors++;
        c.ns += Number(s.endTimeUnixNano as string) - Number(s.startTimeUnixNano as string);
        c.ids += (s.traceId as string).length + (s.spanId as string).length + ((s.parentSpanId as string | undefined)?.length ?? 0) + version.length;
      }
    }
  }
  return spans;
}

/** The floor: stream the file's lines (1 MiB reads, as the CLI), JSON.parse each, {@link floorRequest}. */
function floorPass(file: string): Promise<Pass> {
  return timed(() => floorLoop(file));
}

async function floorLoop(file: string): Promise<{ spans: number }> {
  const counts = new Map<string, Counter>();
  let spans = 0;
  let pending: Buffer[] = [];
  const line = (text: string): void => {
    if (text.length > 0) spans += floorRequest(JSON.parse(text) as Obj, counts);
  };
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) {
        if (start < chunk.length) pending.push(chunk.subarray(start));
        break;
      }
      if (pending.length > 0) {
        pending.push(chunk.subarray(start, nl));
        line(Buffer.concat(pending).toString('utf8'));
        pending = [];
      } else {
        line(chunk.toString('utf8', start, nl));
      }
      start = nl + 1;
    }
  }
  if (pending.length > 0) line(Buffer.concat(pending).toString('utf8'));
  let check = 0;
  for (const c of counts.values()) check += c.n + c.errors + c.ids + (c.ns > 0 ? 1 : 0);
  if (check < spans) throw new Error('floor checksum');
  return { spans };
}

async function run(opts: ChildOptions): Promise<BenchResult> {
  const started = performance.now();
  const base = scenarioByName(SCENARIO);
  if (!base) throw new Error(`unknown scenario ${SCENARIO}`);
  const rps = opts.quick ? QUICK_RPS : FULL_RPS;
  const dir = await mkdtemp(join(tmpdir(), 'rootspan-bench-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const file = join(dir, `${SCENARIO}.jsonl`);
    log('cli', `writing ${SCENARIO} at ${rps} req/s to ${file}...`);
    const written = writeScenarioFile({ ...base, baseRps: rps }, file);
    const bytes = statSync(file).size;
    log('cli', `${written} spans, ${mb(bytes)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    type Kind = 'floor' | 'decode' | 'cli';
    const order: Kind[] = opts.quick ? ['floor', 'decode', 'cli'] : ['floor', 'decode', 'cli', 'cli', 'decode', 'floor', 'floor', 'cli', 'decode'];
    const passes: Record<Kind, Pass[]> = { floor: [], decode: [], cli: [] };
    const idles: number[] = [];
    let incidents = 0;
    let dropped = 0;
    for (const which of order) {
      let p: Pass;
      let note = '';
      if (which === 'floor') p = await floorPass(file);
      else if (which === 'decode') p = await decodePass(file);
      else {
        // The CLI decodes in worker threads when two cores are idle as it starts: asked the same way here.
        const idle = await idleCores();
        const c = await cliPass(file);
        incidents = c.incidents;
        dropped = c.dropped;
        idles.push(Number(idle.toFixed(2)));
        const decoders = decodersFor(idle);
        note = ` (${idle.toFixed(1)} cores idle: ${decoders === 0 ? 'one thread' : `${decoders} decoding worker${decoders > 1 ? 's' : ''}`})`;
        p = c;
      }
      if (p.spans !== written) throw new Error(`${which} pass read ${p.spans} spans, expected ${written}`);
      passes[which].push(p);
      log('cli', `${which} ${sig(bytes / MB / (p.ms / 1000))} MB/s, ${(p.cpuMs / 1000).toFixed(2)} s CPU${note}`);
    }
    const ms = (k: Kind) => passes[k].map((p) => p.ms);
    const cpu = (k: Kind) => median(passes[k].map((p) => p.cpuMs)) / 1000;
    const floorMs = ms('floor');
    const cliMs = ms('cli');
    const decodeMs = ms('decode');
    const floorS = median(floorMs) / 1000;
    const cliS = median(cliMs) / 1000;
    const decodeS = median(decodeMs) / 1000;
    const cliMBs = bytes / MB / cliS;
    const floorMBs = bytes / MB / floorS;
    const decodeMBs = bytes / MB / decodeS;
    const ratio = cliMBs / floorMBs;
    // Pass i of the CLI against pass i of the floor: the spread of the ratio on a noisy machine.
    const pairs = cliMs.map((c, i) => floorMs[i] / c).sort((a, b) => a - b);
    const spread = `${sig(pairs[0])}–${sig(pairs[pairs.length - 1])}`;
    const threads = [...new Set(idles.map((i) => decodersFor(i)))].map((d) => (d === 0 ? 'one thread' : `${d} worker${d > 1 ? 's' : ''} + main thread`)).join(' or ');
    // CPU the analysis adds to reading + decoding: the engine's share of the CLI's CPU (GC included).
    const analysisShare = 1 - cpu('decode') / cpu('cli');
    const cpuS = (k: Kind) => `${cpu(k).toFixed(2)} s CPU`;
    const report = [
      `== CLI throughput (${opts.quick ? 'quick' : 'full'}): ${SCENARIO} at ${rps} req/s, ${written} spans, ${mb(bytes)} OTLP/JSON lines (${(bytes / written).toFixed(0)} B/span)`,
      `   rootspan analyze  ${sig(cliMBs)} MB/s  ${sig(written / cliS / 1000)} k spans/s, ${cpuS('cli')}   (${cliMs.map((m) => (m / 1000).toFixed(2)).join(', ')} s, ${threads}: ${idles.join('/')} cores idle; ${incidents} incidents, ${dropped} dropped)`,
      `   read + decode     ${sig(decodeMBs)} MB/s  ${sig(written / decodeS / 1000)} k spans/s, ${cpuS('decode')}   (${decodeMs.map((m) => (m / 1000).toFixed(2)).join(', ')} s, one thread: rootspan's reader, no analysis)`,
      `   floor             ${sig(floorMBs)} MB/s  ${sig(written / floorS / 1000)} k spans/s, ${cpuS('floor')}   (${floorMs.map((m) => (m / 1000).toFixed(2)).join(', ')} s, one thread: lines + JSON.parse + fields + key + Map)`,
      `   analysis (engine ingest, GC included) = ${(100 * analysisShare).toFixed(0)}% of the CLI's CPU; read + decode / floor = ${sig(cpu('decode') / cpu('floor'))}× CPU`,
      `   analyze / floor = ${sig(ratio)} (pairs ${spread}; goal ≥ ${CLI_GOAL_FLOOR_RATIO}, stretch ≥ ${CLI_STRETCH_FLOOR_RATIO})`,
    ];
    const rows: GoalRow[] = [
      {
        benchmark: 'cli',
        metric: 'rootspan analyze vs floor, MB/s',
        goal: `≥ ${CLI_GOAL_FLOOR_RATIO}× floor (stretch ≥ ${CLI_STRETCH_FLOOR_RATIO}×)`,
        measured: `${sig(cliMBs)} vs ${sig(floorMBs)} MB/s (CLI ${threads}, floor one thread; ${sig(written / cliS / 1000)} k spans/s; pairs ${spread}×; analysis ${(100 * analysisShare).toFixed(0)}% of the CLI's CPU)`,
        ratio,
        ratioOf: '× floor',
        pass: ratio >= CLI_GOAL_FLOOR_RATIO,
      },
    ];
    return {
      name: 'cli',
      wallMs: Math.round(performance.now() - started),
      rows,
      report,
      details: {
        scenario: SCENARIO,
        rps,
        spans: written,
        bytes,
        order,
        floorMs,
        cliMs,
        decodeMs,
        cpuMs: { floor: passes.floor.map((p) => p.cpuMs), decode: passes.decode.map((p) => p.cpuMs), cli: passes.cli.map((p) => p.cpuMs) },
        cliMBs,
        floorMBs,
        decodeMBs,
        cliSpansPerS: written / cliS,
        floorSpansPerS: written / floorS,
        ratio,
        pairRatios: pairs,
        analysisCpuShare: analysisShare,
        idleCores: idles,
        incidents,
        dropped,
      },
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

childMain(run);
