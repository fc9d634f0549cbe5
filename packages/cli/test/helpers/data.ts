/** Test inputs: simulator scenarios written as OTLP/JSON lines (the Collector's file-exporter format), and tiny hand-made files. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Span } from '@rootspan/engine';
import { writeScenarioFile } from '@rootspan/eval';
import { encodeOtlpJson } from '@rootspan/otlp';
import { scenarioByName, type Scenario } from '@rootspan/sim';

const MIN = 60_000;

/**
 * `shop-payment-errors` cut to 9 minutes: 7 healthy minutes, then payment POST /payment fails every
 * request (checkout and frontend fail with it). Shorter than the catalogue's 15 minutes to keep the
 * suite fast; still ~29k spans, enough for the baselines to learn and the fault to be found.
 */
export function paymentErrors(): Scenario {
  const base = scenarioByName('shop-payment-errors');
  if (base === undefined) throw new Error('scenario shop-payment-errors is missing from @rootspan/sim');
  return { ...base, durationMs: 9 * MIN };
}

/** The same traffic (same topology, seed and length) without the fault: no incident expected. */
export function healthy(): Scenario {
  return { ...paymentErrors(), name: 'shop-healthy-9min', faults: [], truth: { faults: [], healthy: true, expectedIncidents: 0 } };
}

/** A temporary directory, removed by `cleanup()`. */
export function tempDir(prefix = 'rootspan-cli-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    /** Writes `content` to `name` in the directory; returns the path. */
    file(name: string, content: string | Buffer): string {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
    /** Writes the scenario as OTLP/JSON lines; returns the path. */
    scenario(name: string, scenario: Scenario): string {
      const path = join(dir, name);
      writeScenarioFile(scenario, path);
      return path;
    },
    cleanup(): void {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let counter = 0;

/** `n` healthy server spans of one service, one per trace, 100 ms apart: a small valid input. */
export function smallSpans(n: number, service = 'svc'): Span[] {
  return Array.from({ length: n }, (_, i) => {
    counter++;
    const start = Date.UTC(2026, 0, 1) + i * 100;
    return {
      traceId: counter.toString(16).padStart(32, 'a'),
      spanId: counter.toString(16).padStart(16, 'b'),
      service,
      name: 'GET /x',
      kind: 'server' as const,
      startTime: start,
      endTime: start + 10,
      status: 'unset' as const,
      attributes: { 'http.request.method': 'GET', 'http.route': '/x', 'http.response.status_code': 200 },
    };
  });
}

/** One OTLP/JSON request line (no newline). */
export const otlpLine = (spans: Span[]): string => JSON.stringify(encodeOtlpJson(spans));
