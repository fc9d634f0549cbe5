import { describe, expect, it } from 'vitest';
import { MAX_CALL_NAMES_PER_PEER, PeerTable, unansweredCallee } from '../src/ops/peers.js';
import { UNKNOWN_PEER } from '../src/model/operation.js';
import { opKey } from '../src/keys.js';

describe('PeerTable', () => {
  it('knows nothing of a peer it never saw answered', () => {
    const t = new PeerTable(10);
    expect(t.resolve('db:5432', 'GET', undefined)).toBeUndefined();
    expect(t.size).toBe(0);
  });

  it('resolves a call name to the operation that answered it, the caller\'s own history first', () => {
    const t = new PeerTable(10);
    t.learn('inventory:80', 'GET', opKey('checkout', 'POST /checkout'), 'inventory', 'GET /stock/:id');
    t.learn('inventory:80', 'GET', opKey('admin', 'GET /report'), 'inventory', 'GET /report');
    expect(t.resolve('inventory:80', 'GET', opKey('checkout', 'POST /checkout'))).toEqual({ service: 'inventory', operation: 'GET /stock/:id' });
    expect(t.resolve('inventory:80', 'GET', opKey('admin', 'GET /report'))).toEqual({ service: 'inventory', operation: 'GET /report' });
    // By name alone, the latest answer; an unknown name still names the service.
    expect(t.resolve('inventory:80', 'GET', undefined)).toEqual({ service: 'inventory', operation: 'GET /report' });
    expect(t.resolve('inventory:80', 'POST', undefined)).toEqual({ service: 'inventory', operation: null });
  });

  it('learns a mapping again after another replaced it (a repeat of the last one is skipped, no other)', () => {
    const t = new PeerTable(10);
    const checkout = opKey('checkout', 'POST /checkout');
    const admin = opKey('admin', 'GET /report');
    t.learn('inventory:80', 'GET', checkout, 'inventory', 'GET /stock/:id');
    t.learn('inventory:80', 'GET', checkout, 'inventory', 'GET /stock/:id');
    t.learn('inventory:80', 'GET', admin, 'inventory', 'GET /report');
    t.learn('inventory:80', 'GET', checkout, 'inventory', 'GET /stock/:id');
    expect(t.resolve('inventory:80', 'GET', undefined)).toEqual({ service: 'inventory', operation: 'GET /stock/:id' });
    t.learn('inventory:80', 'GET', checkout, 'inventory', 'GET /stock');
    expect(t.resolve('inventory:80', 'GET', checkout)?.operation).toBe('GET /stock');
    expect(t.resolve('inventory:80', 'GET', admin)?.operation).toBe('GET /report');
    // An empty call name and operation are learned too (a span named '' answered by one named '').
    t.learn('empty:80', '', undefined, 'blank', '');
    expect(t.resolve('empty:80', '', undefined)).toEqual({ service: 'blank', operation: '' });
  });

  it('starts a peer afresh when another service answers it (an address reused)', () => {
    const t = new PeerTable(10);
    t.learn('10.0.0.7:80', 'GET', undefined, 'inventory', 'GET /stock');
    t.learn('10.0.0.7:80', 'POST', undefined, 'payment', 'POST /charge');
    expect(t.resolve('10.0.0.7:80', 'GET', undefined)).toEqual({ service: 'payment', operation: null });
    expect(t.resolve('10.0.0.7:80', 'POST', undefined)).toEqual({ service: 'payment', operation: 'POST /charge' });
  });

  it('holds at most maxPeers peers; known peers still learn', () => {
    const t = new PeerTable(2);
    t.learn('a', 'GET', undefined, 'A', 'GET /a');
    t.learn('b', 'GET', undefined, 'B', 'GET /b');
    t.learn('c', 'GET', undefined, 'C', 'GET /c');
    expect(t.size).toBe(2);
    expect(t.resolve('c', 'GET', undefined)).toBeUndefined();
    t.learn('a', 'POST', undefined, 'A', 'POST /a');
    expect(t.resolve('a', 'POST', undefined)?.operation).toBe('POST /a');
  });

  it('remembers at most MAX_CALL_NAMES_PER_PEER names per peer, and still updates the ones it holds', () => {
    const t = new PeerTable(1);
    for (let i = 0; i < MAX_CALL_NAMES_PER_PEER + 50; i++) t.learn('db', `q${i}`, undefined, 'db', `op${i}`);
    expect(t.resolve('db', `q${MAX_CALL_NAMES_PER_PEER - 1}`, undefined)?.operation).toBe(`op${MAX_CALL_NAMES_PER_PEER - 1}`);
    expect(t.resolve('db', `q${MAX_CALL_NAMES_PER_PEER}`, undefined)?.operation).toBeNull();
    t.learn('db', 'q0', undefined, 'db', 'renamed');
    expect(t.resolve('db', 'q0', undefined)?.operation).toBe('renamed');
    // Per-caller names count against the same bound.
    t.learn('db', 'q1', opKey('svc', 'GET /'), 'db', 'op1');
    expect(t.resolve('db', 'q1', opKey('svc', 'GET /'))?.operation).toBe('op1');
    expect(t.toJSON()[0].calls).toHaveLength(MAX_CALL_NAMES_PER_PEER);
  });

  it('survives a JSON round trip, per-caller names included', () => {
    const t = new PeerTable(10);
    t.learn('inventory:80', 'GET', opKey('checkout', 'POST /checkout'), 'inventory', 'GET /stock/:id');
    t.learn('inventory:80', 'GET', undefined, 'inventory', 'GET /report');
    t.learn('db', 'SELECT', undefined, 'postgres', 'SELECT orders');
    const back = PeerTable.fromJSON(JSON.parse(JSON.stringify(t.toJSON())), 10);
    expect(back.toJSON()).toEqual(t.toJSON());
    expect(back.resolve('inventory:80', 'GET', opKey('checkout', 'POST /checkout'))?.operation).toBe('GET /stock/:id');
    expect(back.resolve('inventory:80', 'GET', 'other')?.operation).toBe('GET /report');
  });

  it('learns calls naming no peer per calling operation, and forgets a name two different operations answered', () => {
    const t = new PeerTable(10);
    const front = opKey('frontend', 'GET /products');
    const orders = opKey('checkout', 'POST /orders');
    t.learn(UNKNOWN_PEER, 'GET', front, 'inventory', 'GET /stock');
    t.learn(UNKNOWN_PEER, 'GET', front, 'inventory', 'GET /stock');
    t.learn(UNKNOWN_PEER, 'POST', orders, 'inventory', 'POST /reserve');
    t.learn(UNKNOWN_PEER, 'POST', orders, 'payment', 'POST /charge');
    t.learn(UNKNOWN_PEER, 'POST', orders, 'inventory', 'POST /reserve');
    t.learn(UNKNOWN_PEER, 'GET', undefined, 'inventory', 'GET /stock');
    expect(t.size).toBe(0);
    expect(t.resolve(UNKNOWN_PEER, 'GET', front)).toEqual({ service: 'inventory', operation: 'GET /stock' });
    // One name, several answers: no single callee to name; and no caller, no history to go by.
    expect(t.resolve(UNKNOWN_PEER, 'POST', orders)).toBeUndefined();
    expect(t.resolve(UNKNOWN_PEER, 'GET', undefined)).toBeUndefined();
    const back = PeerTable.fromJSON(JSON.parse(JSON.stringify(t.toJSON())), 10);
    expect(back.resolve(UNKNOWN_PEER, 'GET', front)).toEqual({ service: 'inventory', operation: 'GET /stock' });
    expect(back.resolve(UNKNOWN_PEER, 'POST', orders)).toBeUndefined();
  });

  it('names an unanswered call: a learned service, else its peer, else (naming no peer) its caller under the call name', () => {
    const t = new PeerTable(10);
    const peers = { resolvePeer: (p: string, n: string, c: string | undefined) => t.resolve(p, n, c) };
    t.learn('inventory:80', 'GET', undefined, 'inventory', 'GET /stock');
    expect({ ...unansweredCallee('frontend', 'inventory:80', 'GET', undefined, false, peers) }).toEqual({ service: 'inventory', operation: 'GET /stock', virtual: false });
    expect({ ...unansweredCallee('frontend', 'postgresql', 'SELECT orders', undefined, true, peers) }).toEqual({ service: 'postgresql', operation: 'SELECT orders', virtual: true });
    expect({ ...unansweredCallee('payment', UNKNOWN_PEER, 'POST', opKey('payment', 'POST /charge'), false, peers) }).toEqual({ service: 'payment', operation: 'POST', virtual: true });
  });
});
