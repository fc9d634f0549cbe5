/**
 * A replay gives the same incidents however its spans are batched: trace release and bucket closes happen
 * where the spans move event time, not where a batch happens to end. Simulated export batches (each
 * service's BatchSpanProcessor), one span at a time, and large batches of a file must agree on every
 * field of every incident; so must batches sent again by an exporter that retried.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Incident, type Span } from '@rootspan/engine';
import { Rng } from '@rootspan/sim';
import { scenarioBatches } from './support/scenario-batches.js';

function incidents(batches: readonly (readonly Span[])[]): Incident[] {
  const analyzer = createAnalyzer();
  for (const b of batches) analyzer.ingest(b);
  analyzer.flush();
  return analyzer.incidents();
}

function rebatch(spans: readonly Span[], size: number): Span[][] {
  const out: Span[][] = [];
  for (let i = 0; i < spans.length; i += size) out.push(spans.slice(i, i + size));
  return out;
}

describe('replay batching', () => {
  // shop-payment-errors-partial read "affecting checkout" at 92 % from export batches and no callers at 97 %
  // from batches of 10 or more, when each batch's end released traces and closed buckets.
  it.each(['shop-payment-errors-partial', 'shop-two-faults', 'media-catalog-db-slow'])('%s: the same incidents from any batching', (name) => {
    const exported = scenarioBatches(name).batches;
    const spans = exported.flat();
    const expected = incidents(exported);
    expect(expected.length).toBeGreaterThan(0);
    for (const size of [1, 10, 1000, spans.length]) expect(incidents(rebatch(spans, size)), `batches of ${size}`).toEqual(expected);
  });

  // Affected services were listed, and anomalies of one bucket fired, in the order the analyzer first saw
  // their operations: "affecting ledger, api, accounts" became "affecting accounts, ledger, api", and
  // anomaly a-1 of one run was a-2 of the other.
  it.each([
    ['bank-shared-db-slow', 2],
    ['shop-inventory-hang', 1],
  ] as const)('%s: the same titles and anomalies, in the same order, when spans arrive a few places apart', (name, seed) => {
    const spans = scenarioBatches(name).batches.flat();
    const rng = new Rng(seed);
    const nearby = [...spans];
    for (let k = nearby.length - 1; k > 0; k--) {
      const j = Math.max(0, k - Math.floor(rng.next() * 8));
      [nearby[k], nearby[j]] = [nearby[j], nearby[k]];
    }
    const outline = (list: Span[]) => incidents(rebatch(list, 500)).map((i) => ({ title: i.title, anomalies: i.anomalies.map((a) => `${a.id} ${a.service} ${a.operation} ${a.signal}`) }));
    const expected = outline(spans);
    expect(expected).toEqual([{ title: expect.stringMatching(/, affecting \w+, \w+, \w+ and 1 more$/), anomalies: expect.any(Array) }]);
    expect(expected[0].anomalies.length).toBeGreaterThan(3);
    expect(outline(nearby)).toEqual(expected);
  });

  // An exporter that lost the answer to a request sends its batch again, seconds later: its spans, already
  // processed, were taken for late parts of their traces (inventory-hang's confidence fell from 99 % to 83 %).
  it.each(['shop-inventory-hang', 'shop-payment-errors-partial'])('%s: the same incidents when batches are sent again seconds later', (name) => {
    const exported = scenarioBatches(name).batches;
    const expected = incidents(exported);
    const resent: Span[][] = [];
    exported.forEach((b, i) => {
      resent.push(b);
      if (i >= 10 && i % 10 === 0) resent.push(exported[i - 10].map((s) => ({ ...s })));
    });
    expect(resent.length).toBeGreaterThan(exported.length + 50);
    expect(incidents(resent)).toEqual(expected);
  });
});
