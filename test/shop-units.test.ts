/** The example shop's pure parts: reading the processors' verdicts together, and fault names. */
import { describe, expect, it } from 'vitest';
import { followBlame } from '../examples/shop/src/blame.js';
import { parseFault } from '../examples/shop/src/faults.js';
import type { IncidentLog, ProcessName } from '../examples/shop/src/index.js';

function said(reporter: ProcessName, service: string, type: IncidentLog['type'] = 'opened'): IncidentLog {
  return {
    event: 'rootspan.incident',
    type,
    id: 'inc-1',
    status: 'active',
    severity: 'high',
    title: `Errors in ${service}`,
    rootCause: { service, operation: null, kind: 'errors', confidence: 0.9 },
    explanation: '',
    traceIds: [],
    reporter,
    at: 0,
  };
}

describe('followBlame', () => {
  it('follows each process to the service it blames, down to one that blames itself', () => {
    const b = followBlame([said('frontend', 'checkout'), said('checkout', 'payment'), said('payment', 'payment')]);
    expect(b).toEqual({ chain: ['frontend', 'checkout', 'payment'], rootCause: 'payment' });
  });

  it('ends at a peer without rootspan of its own (the fraud service, a database)', () => {
    expect(followBlame([said('checkout', 'payment'), said('payment', 'fraud')])?.rootCause).toBe('fraud');
    expect(followBlame([said('frontend', 'inventory'), said('inventory', 'sqlite3')])?.chain).toEqual(['frontend', 'inventory', 'sqlite3']);
  });

  it('ends at a blamed service that has not spoken, and uses the latest verdict', () => {
    expect(followBlame([said('checkout', 'shipping')])?.rootCause).toBe('shipping');
    expect(followBlame([said('checkout', 'inventory'), said('checkout', 'payment', 'updated')])?.rootCause).toBe('payment');
  });

  it('is null without incidents and stops on a cycle', () => {
    expect(followBlame([])).toBeNull();
    expect(followBlame([said('checkout', 'payment'), said('payment', 'checkout')])?.chain).toEqual(['checkout', 'payment', 'checkout']);
  });
});

describe('parseFault', () => {
  it('reads presets (on payment) and service:kind', () => {
    expect(parseFault('cascading_failure')).toMatchObject({ service: 'payment', kind: 'cascading_failure', rootCause: 'payment', truthKind: 'errors' });
    expect(parseFault('inventory:latency_spike')).toMatchObject({ service: 'inventory', truthKind: 'latency' });
    expect(parseFault('checkout:db')).toMatchObject({ service: 'checkout', rootCause: 'sqlite3' });
    expect(parseFault('fraud:timeout')).toMatchObject({ service: 'fraud', rootCause: 'fraud', truthKind: 'timeout' });
  });

  it('rejects what cannot be injected, saying what can', () => {
    expect(() => parseFault('delay')).toThrow(/needs a service/);
    expect(() => parseFault('billing:error')).toThrow(/unknown service 'billing'/);
    expect(() => parseFault('payment:meltdown')).toThrow(/unknown fault kind 'meltdown'.*cascading_failure/);
    expect(() => parseFault('shipping:db')).toThrow(/no database/);
    expect(() => parseFault('fraud:deploy')).toThrow(/not ours/);
  });
});
