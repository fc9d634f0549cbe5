/**
 * `npm run shop:record -- --fault <preset|service:kind|none> --out DIR`: runs the shop with one fault (or
 * none: healthy traffic throughout) and records every service's spans, exported by their own SDKs over
 * OTLP/HTTP to a local receiver, as `DIR/traces.jsonl.gz` (OTLP/JSON lines), with the ground truth in
 * `DIR/truth.json`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startCollector } from './collector.js';
import { clearFault, FAULT_KINDS, injectFault, parseFault, DEPLOY_VERSION } from './faults.js';
import { LoadGenerator } from './load.js';
import { Shop } from './shop.js';

/** `--fault none`: a recording of healthy traffic, whose truth is that nothing happened. */
const HEALTHY = 'none';

const USAGE = `Usage: npm run shop:record -- --fault <fault> --out DIR [options]

  --fault <fault>     a preset (cascading_failure, latency_spike, error_storm: on payment)
                      or service:kind, kind one of ${FAULT_KINDS.join(', ')},
                      or ${HEALTHY}: healthy traffic throughout, expecting no incident
  --out DIR           where to write traces.jsonl.gz and truth.json
  --warmup <s>        healthy traffic before the fault (default 60)
  --duration <s>      how long the fault lasts (default 60; with ${HEALTHY}, more healthy traffic)
  --recovery <s>      traffic after the fault is cleared (default 60)
  --rps <n>           shoppers' requests per second (default 6)
  -h, --help          this help`;

/** The ground truth of a recording, in the shape the eval suite scores against. */
export interface RecordingTruth {
  name: string;
  description: string;
  fault: string;
  rps: number;
  /** Wall-clock (= event) time span of the recording, epoch ms. */
  startMs: number;
  endMs: number;
  spans: number;
  faults: Array<{ service: string; operation: null; kind: 'latency' | 'errors' | 'timeout'; startMs: number; endMs: number }>;
  expectedIncidents: number;
  changes?: Array<{ service: string; version: string; at: number }>;
}

interface Options {
  fault: string;
  out: string;
  warmupS: number;
  durationS: number;
  recoveryS: number;
  rps: number;
}

function parse(argv: readonly string[]): Options | 'help' {
  const { values: v } = parseArgs({
    args: [...argv],
    options: {
      fault: { type: 'string' },
      out: { type: 'string' },
      warmup: { type: 'string', default: '60' },
      duration: { type: 'string', default: '60' },
      recovery: { type: 'string', default: '60' },
      rps: { type: 'string', default: '6' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) return 'help';
  const number = (name: string, text: string, max: number): number => {
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new Error(`--${name} needs a number in (0, ${max}], got '${text}'`);
    return n;
  };
  if (v.fault === undefined) throw new Error('--fault is required');
  if (v.out === undefined) throw new Error('--out is required');
  return {
    fault: v.fault,
    out: resolve(v.out),
    warmupS: number('warmup', v.warmup, 1800),
    durationS: number('duration', v.duration, 1800),
    recoveryS: number('recovery', v.recovery, 1800),
    rps: number('rps', v.rps, 200),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => void process.stderr.write(`${new Date().toISOString().slice(11, 19)}  ${line}\n`);

async function record(o: Options): Promise<void> {
  const fault = o.fault === HEALTHY ? null : parseFault(o.fault);
  mkdirSync(o.out, { recursive: true });
  const collector = await startCollector(join(o.out, 'traces.jsonl.gz'));
  let shop: Shop | null = null;
  let load: LoadGenerator | null = null;
  const stop = async () => {
    await load?.stop();
    await shop?.stop();
    await collector.close();
  };
  process.once('SIGINT', () => void stop().finally(() => process.exit(130)));
  try {
    shop = await Shop.start({ otlpEndpoint: collector.url });
    log(`shop started; spans go to ${collector.url}; ${o.warmupS} s of healthy traffic at ${o.rps} req/s`);
    const startMs = Date.now();
    load = new LoadGenerator({ baseUrl: shop.urls.frontend, rps: o.rps, durationMs: (o.warmupS + o.durationS + o.recoveryS) * 1000 + 5000 });
    await sleep(o.warmupS * 1000);
    const faultStart = Date.now();
    if (fault !== null) {
      await injectFault(shop, fault);
      log(`fault on: ${fault.description}`);
    }
    await sleep(o.durationS * 1000);
    const faultEnd = Date.now();
    if (fault !== null) {
      await clearFault(shop, fault);
      log(`fault cleared; ${o.recoveryS} s of recovery`);
    }
    await sleep(o.recoveryS * 1000);
    const stats = await load.stop();
    // Stopping the services flushes their exporters into the collector.
    await shop.stop();
    const endMs = Date.now();
    await collector.close();
    const faults: RecordingTruth['faults'] = fault === null ? [] : [{ service: fault.rootCause, operation: null, kind: fault.truthKind, startMs: faultStart, endMs: faultEnd }];
    const truth: RecordingTruth = {
      name: fault === null ? 'shop-healthy' : `shop-${fault.service}-${fault.kind}`.replace(/_/g, '-'),
      description: fault === null ? 'Real shop, healthy traffic (no fault)' : `Real shop, ${fault.description}`,
      fault: o.fault,
      rps: o.rps,
      startMs,
      endMs,
      spans: collector.spans(),
      faults,
      expectedIncidents: faults.length,
      ...(fault?.kind === 'deploy' ? { changes: [{ service: fault.service, version: DEPLOY_VERSION, at: faultStart }] } : {}),
    };
    writeFileSync(join(o.out, 'truth.json'), `${JSON.stringify(truth, null, 2)}\n`);
    log(`recorded ${truth.spans} spans; shoppers: ${stats.sent} requests, ${stats.failed} failed; written to ${o.out}`);
  } catch (e) {
    await stop();
    throw e;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let opts;
  try {
    opts = parse(argv);
    if (opts !== 'help' && opts.fault !== HEALTHY) parseFault(opts.fault);
  } catch (e) {
    process.stderr.write(`shop:record: ${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  await record(opts);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`shop:record failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
