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
    expect(c.changeNear('payment', 140_000, 60_000)).toEqual({ service: 'payment', from: '1.4.2', to: '1.5.0', at: 100_000 });
    expect(c.changeNear('payment', 300_000, 60_000)).toBeUndefined();
    expect(c.changeNear('checkout', 140_000, 60_000)).toBeUndefined();
  });

  it('keeps the earliest sighting when a version is first seen out of order', () => {
    const c = new ChangeTracker(10);
    c.observe('payment', '1.0.0', 1000);
    c.observe('payment', '2.0.0', 50_000);
    c.observe('payment', '2.0.0', 40_000); // a late span of the new version
    expect(c.changeNear('payment', 60_000, 60_000)?.at).toBe(40_000);
  });

  it('tells a rollback from a rolling deploy, and a deploy seen just after', () => {
    const c = new ChangeTracker(10);
    for (let t = 0; t < 60; t++) c.observe('pricing', '1.0.0', t * 1000);
    // 1.1.0 replaces it at 62 s (a restart: nothing in between), then 1.0.0 comes back at 152 s.
    for (let t = 62; t < 150; t++) c.observe('pricing', '1.1.0', t * 1000);
    expect(c.changeNear('pricing', 61_000, 600_000)).toBeUndefined();
    expect(c.changeNear('pricing', 61_000, 600_000, 5000)).toEqual({ service: 'pricing', from: '1.0.0', to: '1.1.0', at: 62_000 });
    for (let t = 152; t < 400; t++) c.observe('pricing', '1.0.0', t * 1000);
    c.observe('pricing', '1.0.0', 151_000); // a late span of the rollback
    expect(c.changeNear('pricing', 120_000, 600_000)).toEqual({ service: 'pricing', from: '1.0.0', to: '1.1.0', at: 62_000 });
    expect(c.changeNear('pricing', 390_000, 600_000)).toEqual({ service: 'pricing', from: '1.1.0', to: '1.0.0', at: 151_000 });
    // Old and new interleaving for a minute, with gaps of a few seconds, deploy once.
    const r = new ChangeTracker(10);
    for (let t = 0; t < 60; t++) r.observe('api', 'a', t * 1000);
    for (let t = 60; t < 120; t++) r.observe('api', t % 10 < 5 ? 'a' : 'b', t * 1000);
    for (let t = 120; t < 200; t++) r.observe('api', 'b', t * 1000);
    expect(r.changeNear('api', 190_000, 600_000)).toEqual({ service: 'api', from: 'a', to: 'b', at: 65_000 });
  });

  it('sees a version again after it was forgotten, and survives a snapshot round trip', () => {
    const c = new ChangeTracker(10);
    c.observe('svc', 'v1', 1000);
    for (const [i, v] of ['v2', 'v3', 'v4', 'v5'].entries()) c.observe('svc', v, 2000 + i * 1000);
    // v1 fell out of the last four; seen again, it is a new deploy (a rollback).
    c.observe('svc', 'v1', 10_000);
    expect(c.changeNear('svc', 11_000, 5000)).toEqual({ service: 'svc', from: 'v5', to: 'v1', at: 10_000 });
    const d = new ChangeTracker(10);
    d.restore(c.toJSON());
    d.observe('svc', 'v1', 9000);
    expect(d.changeNear('svc', 11_000, 5000)?.at).toBe(9000);
  });
});
