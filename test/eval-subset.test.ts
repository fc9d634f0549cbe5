/**
 * The fast subset of `npm run eval`: a few catalogue scenarios run end to end (simulator → OTLP/JSON
 * lines file → `rootspan analyze --json` → score) and held to the issue's goals. The full catalogue,
 * with the table and time to detect, is `npm run eval`.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '@rootspan/eval';

// Each run simulates ~15 min of traffic and analyses it through the CLI: seconds, not milliseconds.
const TIMEOUT = 120_000;

describe('eval subset', () => {
  it.each(['shop-payment-errors', 'shop-checkout-bug', 'shop-two-faults'])(
    '%s: names every root cause first, with no false incidents',
    async (name) => {
      const r = await runScenario(name);
      expect(r.error).toBeUndefined();
      const got = r.score.faults.map((f) => `expected ${f.expected}, got ${f.got.join(', ') || 'nothing'}`).join('; ');
      expect(r.score.ac1, got).toBe(true);
      expect(r.score.falseIncidents, `false: ${r.incidents.filter((i) => r.score.falseIncidentIds.includes(i.id)).map((i) => `${i.id} ${i.title}`).join('; ')}`).toBe(0);
    },
    TIMEOUT,
  );

  it(
    'shop-traffic-surge (healthy: a busy moment, not a fault) opens no incident',
    async () => {
      const r = await runScenario('shop-traffic-surge');
      expect(r.error).toBeUndefined();
      expect(r.incidents.map((i) => i.title)).toEqual([]);
    },
    TIMEOUT,
  );
});
