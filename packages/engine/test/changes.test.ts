import { describe, expect, it } from 'vitest';
import { ChangeTracker } from '../src/changes.js';

describe('ChangeTracker', () => {
  it('names the deploy before an anomaly once, through a rolling deploy and interleaved services', () => {
    const c = new ChangeTracker(10);
    for (let t = 0; t < 100; t++) {
      c.observe('payment', '1.4.2', t * 1000);
      c.observe('checkout', '3.1.0', t * 1000);
    }
    // The rollout: old and new payment versions interleave for a while, other services in between.
    for (let t = 100; t < 130; t++) {
      c.observe('payment', t % 2 === 0 ? '1.5.0' : '1.4.2', t * 1000);
      c.observe('checkout', '3.1.0', t * 1000);
    }
    expect(c.changeBefore('payment', 140_000, 60_000)).toEqual({ service: 'payment', from: '1.4.2', to: '1.5.0', at: 100_000 });
    expect(c.changeBefore('payment', 300_000, 60_000)).toBeUndefined();
    expect(c.changeBefore('checkout', 140_000, 60_000)).toBeUndefined();
  });

  it('keeps the earliest sighting when a version is first seen out of order', () => {
    const c = new ChangeTracker(10);
    c.observe('payment', '1.0.0', 1000);
    c.observe('payment', '2.0.0', 50_000);
    c.observe('payment', '2.0.0', 40_000); // a late span of the new version
    expect(c.changeBefore('payment', 60_000, 60_000)?.at).toBe(40_000);
  });

  it('sees a version again after it was forgotten, and survives a snapshot round trip', () => {
    const c = new ChangeTracker(10);
    c.observe('svc', 'v1', 1000);
    for (const [i, v] of ['v2', 'v3', 'v4', 'v5'].entries()) c.observe('svc', v, 2000 + i * 1000);
    // v1 fell out of the last four; seen again, it is a new deploy (a rollback).
    c.observe('svc', 'v1', 10_000);
    expect(c.changeBefore('svc', 11_000, 5000)).toEqual({ service: 'svc', from: 'v5', to: 'v1', at: 10_000 });
    const d = new ChangeTracker(10);
    d.restore(c.toJSON());
    d.observe('svc', 'v1', 9000);
    expect(d.changeBefore('svc', 11_000, 5000)?.at).toBe(9000);
  });
});
