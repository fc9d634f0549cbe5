/**
 * Two latency faults in a live three-tier app (issue 21): the example shop (frontend → checkout →
 * inventory / payment / shipping, each its own process with NodeSDK and rootspan at the engine's defaults,
 * as a new user runs it) under the shop's load generator. Healthy warm-up; +400 ms on every inventory
 * route for 15 s; recovery for 45 s; the same fault again for 15 s; then the load stops and, 20 s later,
 * every process shuts down (SIGTERM → sdk.shutdown → rootspan's final flush).
 *
 * Every process logs its incident events (consoleIncidentLogger) and anomaly episodes (onAnomaly); the
 * shop relays both. The run checks issue 21's "Done when" and passes; it takes over two minutes (its
 * episodes must end, `anomalyEndMs` 30 s, between the faults), too long for CI, so the file runs only with
 * the switch ROOTSPAN_LONG_E2E=1 (`ROOTSPAN_LONG_E2E=1 npx vitest run test/shop-two-faults.e2e.test.ts`).
 * Needs the built shop (`npm test` builds first).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer, DEFAULT_LATENCY } from '@rootspan/engine';
import { SqliteStore } from '@rootspan/sqlite';
import { LoadGenerator, Shop, type AnomalyLog, type IncidentLog } from '../examples/shop/src/index.js';
import { offTier, readmeTiers, statesWindow } from './support/sentences.js';

/** The run takes over two minutes: only on request. */
const LONG = Boolean(process.env.ROOTSPAN_LONG_E2E);

const TARGET = 'inventory';
const DELAY_MS = 400;
const RPS = 20;
const WARMUP_MS = 15_000;
const FAULT_MS = 15_000;
/** Recovery between the faults: the run had 45 s. */
const RECOVERY_MS = 45_000;
/** After a fault is cleared, its detection may still arrive this long after (bucket, lateness, tick). */
const SETTLE_MS = 10_000;
/** Quiet after the load stops, before shutdown: the issue saw a "traffic drop" incident 9.4 s after. */
const STOPPED_MS = 20_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The shop's data dir: rootspan's state of each service, read after the stop. */
let dataDir = '';

let shop: Shop;
let load: LoadGenerator;
/** Wall-clock marks of the run. */
const t = { fault1: NaN, clear1: NaN, fault2: NaN, clear2: NaN, loadStopped: NaN };

/** Latency episodes on the target's own operations, reported by the target's own rootspan. */
const targetLatency = (a: AnomalyLog) => a.reporter === TARGET && a.service === TARGET && a.kind === 'latency';
const inWindow = (at: number, from: number, to: number) => at >= from && at <= to;

const describeAnomalies = (list: readonly AnomalyLog[]) =>
  JSON.stringify(list.map((a) => `${a.reporter} +${((a.arrivedAt - t.fault1) / 1000).toFixed(1)}s ${a.id} ${a.signal} [${a.severity}] ${a.explanation}`), null, 1);
const describeIncidents = (list: readonly IncidentLog[]) =>
  JSON.stringify(list.map((e) => `${e.reporter} +${((e.at - t.fault1) / 1000).toFixed(1)}s ${e.type} ${e.id} [${e.severity}] ${e.title} :: ${e.explanation}`), null, 1);

async function fault(): Promise<[number, number]> {
  const from = Date.now();
  await shop.chaos(TARGET, 'delay', { duration: DELAY_MS });
  await sleep(FAULT_MS);
  await shop.chaos(TARGET, 'clear');
  return [from, Date.now()];
}

describe.skipIf(!LONG)('two latency faults in the example shop (ROOTSPAN_LONG_E2E=1: over two minutes)', () => {
  beforeAll(async () => {
    if (!existsSync(fileURLToPath(new URL('../examples/shop/dist/service.cjs', import.meta.url)))) {
      throw new Error('the example shop is not built: run `npm run build` (npm test does)');
    }
    dataDir = mkdtempSync(join(tmpdir(), 'rootspan-two-faults-'));
    shop = await Shop.start({ dataDir });
    load = new LoadGenerator({ baseUrl: shop.urls.frontend, rps: RPS, durationMs: 300_000 });
    await sleep(WARMUP_MS);
  }, 90_000);

  afterAll(async () => {
    await load?.stop();
    await shop?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  describe('the run, with a recovery between the faults', () => {
    it(`first fault (+${DELAY_MS} ms in ${TARGET}): ${TARGET}'s rootspan reports a latency episode`, async () => {
      [t.fault1, t.clear1] = await fault();
      await sleep(SETTLE_MS);
      const first = shop.anomalies.filter((a) => targetLatency(a) && inWindow(a.arrivedAt, t.fault1, t.clear1 + SETTLE_MS));
      expect(first.length, describeAnomalies(shop.anomalies)).toBeGreaterThan(0);
      // Its callers name it as the root cause of their incidents.
      const naming = shop.incidents.filter((e) => e.reporter !== TARGET && e.type === 'opened' && e.rootCause.service === TARGET);
      expect(naming.length, describeIncidents(shop.incidents)).toBeGreaterThan(0);
    }, FAULT_MS + SETTLE_MS + 15_000);

    it('recovery: the shop serves every shopper again', async () => {
      await sleep(RECOVERY_MS - SETTLE_MS);
      const s = load.take();
      // The fault slowed shoppers down; it did not fail them.
      expect(s.failed, JSON.stringify(s)).toBeLessThanOrEqual(Math.max(1, s.sent * 0.02));
    }, RECOVERY_MS + 15_000);

    it(`second fault, ${RECOVERY_MS / 1000} s after the first ended`, async () => {
      [t.fault2, t.clear2] = await fault();
      await sleep(SETTLE_MS);
      const s = load.take();
      expect(s.failed, JSON.stringify(s)).toBeLessThanOrEqual(Math.max(1, s.sent * 0.02));
      const calls = (from: number, to: number) => shop.anomalies.filter((a) => targetLatency(a) && inWindow(a.arrivedAt, from, to)).length;
      console.log(
        `[two-faults] ${TARGET} latency onAnomaly calls: fault 1 ${calls(t.fault1, t.clear1 + SETTLE_MS)}, fault 2 ${calls(t.fault2, t.clear2 + SETTLE_MS)}\n` +
          `anomalies: ${describeAnomalies(shop.anomalies)}\nincidents: ${describeIncidents(shop.incidents)}`,
      );
    }, FAULT_MS + SETTLE_MS + 15_000);

    it('the load stops and every process shuts down', async () => {
      await load.stop();
      t.loadStopped = Date.now();
      await sleep(STOPPED_MS);
      await shop.stop();
      const after = shop.incidents.filter((e) => e.at >= t.loadStopped);
      console.log(`[two-faults] after the load stopped: ${describeIncidents(after)}\n${describeAnomalies(shop.anomalies.filter((a) => a.arrivedAt >= t.loadStopped))}`);
    }, STOPPED_MS + 30_000);
  });

  describe('issue 21 "Done when"', () => {
    it(`the second fault is a second detection: each ${TARGET} operation slowed by the first starts a new episode, onAnomaly called again`, () => {
      const operations = (from: number, to: number) =>
        new Set(shop.anomalies.filter((a) => targetLatency(a) && a.signal === 'latency' && inWindow(a.arrivedAt, from, to) && a.firstAt >= from - 1000).map((a) => a.operation));
      const first = operations(t.fault1, t.clear1 + SETTLE_MS);
      expect(first.size, describeAnomalies(shop.anomalies)).toBeGreaterThan(0);
      const second = operations(t.fault2, t.clear2 + SETTLE_MS);
      expect([...first].filter((op) => !second.has(op)), describeAnomalies(shop.anomalies)).toEqual([]);
    });

    it(`the second fault opens, or updates with new figures, an incident naming ${TARGET}`, () => {
      const key = (e: IncidentLog) => `${e.reporter} ${e.id}`;
      const lastBefore = new Map<string, string>();
      for (const e of shop.incidents) if (e.at < t.fault2) lastBefore.set(key(e), e.explanation);
      const events = shop.incidents.filter(
        (e) =>
          e.rootCause.service === TARGET &&
          inWindow(e.at, t.fault2, t.clear2 + SETTLE_MS) &&
          (e.type === 'opened' || (e.type === 'updated' && e.explanation !== lastBefore.get(key(e)))),
      );
      expect(events.length, describeIncidents(shop.incidents)).toBeGreaterThan(0);
    });

    it('every explanation sentence of the run states its window', () => {
      const sentences = [...shop.incidents.map((e) => e.explanation), ...shop.anomalies.map((a) => a.explanation)];
      expect(sentences.length).toBeGreaterThan(0);
      expect([...new Set(sentences.filter((s) => !statesWindow(s)))]).toEqual([]);
    });

    it('the README states the tiers the engine applies', () => {
      const tiers = readmeTiers();
      const l = DEFAULT_LATENCY;
      // The lowest ratio any latency rule fires at is where "low" starts.
      expect(tiers).toEqual({
        low: [Math.min(l.ratio, l.sensitiveRatio), l.severityTiers[0]],
        medium: [l.severityTiers[0], l.severityTiers[1]],
        high: [l.severityTiers[1], l.severityTiers[2]],
        critical: l.severityTiers[2],
        criticalMs: l.criticalMs,
      });
    });

    it("every latency sentence's ratio and severity match the tier table", () => {
      const incidents = shop.incidents.map((e) => ({ type: e.type, kind: e.rootCause.kind, severity: e.severity, explanation: e.explanation }));
      expect(offTier(readmeTiers(), shop.anomalies, incidents)).toEqual([]);
    });

    it('stopping the load and shutting down opens no incident and merges no traffic drop into one', () => {
      const after = shop.incidents.filter((e) => e.at >= t.loadStopped);
      expect(after.filter((e) => e.type === 'opened'), describeIncidents(after)).toEqual([]);
      expect(after.filter((e) => e.type === 'updated' && /traffic|drop|req\/s/i.test(`${e.title} ${e.explanation}`)), describeIncidents(after)).toEqual([]);
    });

    it(`${TARGET}'s error baseline after a run without errors is exactly 0`, async () => {
      const store = SqliteStore.open({ path: join(dataDir, `rootspan-${TARGET}.db`) });
      try {
        const snapshot = store.loadSnapshot();
        expect(snapshot).toBeDefined();
        const restored = createAnalyzer();
        restored.restore(snapshot!);
        const own = restored.baselines().filter((b) => b.service === TARGET && b.nodeType === 'service');
        expect(own.length).toBeGreaterThan(0);
        expect(own.filter((b) => b.errorRate !== 0).map((b) => `${b.operation}: ${b.errorRate}`)).toEqual([]);
      } finally {
        await store.close();
      }
    });
  });
});
