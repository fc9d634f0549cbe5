/** Issue 15 (memory): per-operation buckets are shared through a pool, and recorded traces let go of their spans. */
import { describe, expect, it } from 'vitest';
import { BucketRing, LatencyBucket, OpBucket } from '../src/ops/bucket.js';
import { Recorder } from '../src/ops/recorder.js';
import { PeerTable } from '../src/ops/peers.js';
import { resolveOptions } from '../src/options.js';
import type { TraceEntry } from '../src/trace/buffer.js';
import { TraceBuilder } from './helpers/spans.js';

describe('BucketRing with a pool', () => {
  it('hands stale buckets to the pool, and another ring takes them over as empty buckets', () => {
    const pool: OpBucket[] = [];
    const a = new BucketRing(12, () => new OpBucket(), pool);
    const b = new BucketRing(12, () => new OpBucket(), pool);
    const first = a.at(3);
    first.requests = 5;
    a.at(4).requests = 1;
    a.releaseBefore(4);
    expect(pool).toEqual([first]);
    expect(a.get(3)).toBeUndefined();
    expect(a.get(4)?.requests).toBe(1);
    const taken = b.at(20);
    expect(taken).toBe(first);
    expect(taken.index).toBe(20);
    expect(taken.requests).toBe(0);
    expect(pool).toHaveLength(0);
  });

  it('keeps a bucket whose sketch went over to bins with its own ring (its quantiles stay as without a pool)', () => {
    const pool: OpBucket[] = [];
    const ring = new BucketRing(12, () => new OpBucket(), pool);
    const busy = ring.at(1);
    for (let i = 1; i <= 20; i++) busy.latency.sketch.add(i);
    expect(busy.latency.sketch.exact).toBe(false);
    const quiet = ring.at(2);
    quiet.latency.sketch.add(7);
    ring.releaseBefore(100);
    expect(pool).toEqual([quiet]);
    // Still recycled by its own ring, as before pools existed.
    expect(ring.at(13)).toBe(busy);
  });

  it('gives the last bucket again while it is its own, and never one released to the pool and taken over', () => {
    const pool: OpBucket[] = [];
    const a = new BucketRing(12, () => new OpBucket(), pool);
    const b = new BucketRing(12, () => new OpBucket(), pool);
    const first = a.at(7);
    first.requests = 2;
    expect(a.at(7)).toBe(first);
    expect(a.at(7).requests).toBe(2);
    a.releaseBefore(8);
    // The released bucket now serves another ring, at the very index the first ring asks for again.
    expect(b.at(7)).toBe(first);
    b.at(7).requests = 9;
    const again = a.at(7);
    expect(again).not.toBe(first);
    expect(again.requests).toBe(0);
    // A ring turning over recycles its slot: index 19 is not the bucket of index 7.
    again.requests = 4;
    const next = a.at(19);
    expect(next).toBe(again);
    expect(next.requests).toBe(0);
    expect(a.get(7)).toBeUndefined();
  });

  it('without a pool, release does nothing', () => {
    const ring = new BucketRing(12, () => new OpBucket());
    const b = ring.at(1);
    ring.releaseBefore(100);
    expect(ring.at(13)).toBe(b);
  });
});

describe('OpBucket', () => {
  it('counts calls per callee in the order first seen, how many times each request made them, and a reset bucket starts with none', () => {
    const b = new OpBucket();
    b.reset(3);
    expect(b.countCall('db', 1)).toBe(false);
    b.addCallee('db', 1);
    b.addCallee('cache', 2);
    expect(b.countCall('db', 5)).toBe(true);
    expect(b.countCall('db', 3)).toBe(true);
    expect(b.countCall('queue', 1)).toBe(false);
    expect([b.callees, b.callCounts, b.calleeCount]).toEqual([['db', 'cache'], [3, 9, 35, 1, 2, 4], 2]);
    const callsTo = (callee: string) => b.addCallTimes(callee, { calls: 0, squares: 0 });
    expect([callsTo('db'), callsTo('cache'), callsTo('queue')]).toEqual([3, 1, 0]);
    const times = { calls: 0, squares: 0 };
    expect(b.addCallTimes('db', times)).toBe(3);
    expect(times).toEqual({ calls: 9, squares: 1 + 25 + 9 });
    expect(b.addCallTimes('cache', times)).toBe(1);
    expect(b.addCallTimes('queue', times)).toBe(0);
    expect(times).toEqual({ calls: 11, squares: 35 + 4 });
    b.reset(4);
    expect([b.calleeCount, callsTo('db'), b.countCall('db', 1), b.callCounts]).toEqual([0, 0, false, undefined]);
  });
});

describe('LatencyBucket', () => {
  it('learns what it judges until an outlier, then all but the outliers, to the last bit of two separate sums', () => {
    const b = new LatencyBucket();
    const samples: Array<[number, boolean]> = [[1.1, false], [2.3, false], [9.7, true], [0.7, false], [8.8, true], [1.9, false]];
    const sums = (xs: number[]) => {
      let sumLog = 0;
      let sumLogSq = 0;
      for (const l of xs) {
        sumLog += l;
        sumLogSq += l * l;
      }
      return { n: xs.length, sumLog, sumLogSq };
    };
    const moments = ({ n, sumLog, sumLogSq }: { n: number; sumLog: number; sumLogSq: number }) => ({ n, sumLog, sumLogSq });
    b.addOk(1.1, false);
    b.addOk(2.3, false);
    expect([moments(b.ok), moments(b.learn)]).toEqual([sums([1.1, 2.3]), sums([1.1, 2.3])]);
    for (const [l, outlier] of samples.slice(2)) b.addOk(l, outlier);
    expect(moments(b.ok)).toEqual(sums(samples.map(([l]) => l)));
    expect(moments(b.learn)).toEqual(sums(samples.filter(([, outlier]) => !outlier).map(([l]) => l)));
    b.reset();
    b.addOk(3, false);
    expect([moments(b.ok), moments(b.learn)]).toEqual([sums([3]), sums([3])]);
  });
});

describe('Recorder', () => {
  it('lets go of a recorded trace entry’s spans (a dead entry must not keep them from the young-generation GC)', () => {
    const rec = new Recorder(resolveOptions({}), new PeerTable(100));
    const t = new TraceBuilder();
    const root = t.server('shop', '/cart', 1000, 1050);
    t.db(root, 'postgresql', 'SELECT', 1010, 1020);
    const entry: TraceEntry = {
      traceId: t.spans[0].traceId,
      spans: [...t.spans],
      ids: new Map(t.spans.map((s, i) => [s.spanId, i])),
      idBitsLo: 0,
      idBitsHi: 0,
      incompleteAt: -1,
      firstAt: 1050,
      touchedAt: 1050,
      orderedAt: 1050,
      shared: undefined,
    };
    rec.record(entry, -1);
    expect(entry.spans).toHaveLength(0);
    expect(entry.ids).toBeUndefined();
    expect(rec.ops.get([...rec.ops.keys()].find((k) => k.includes('/cart')) as string)?.ring.get(0)?.requests).toBe(1);
  });
});
