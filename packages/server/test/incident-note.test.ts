/** Who acknowledged or resolved an incident, and a word on it: the body of the two POSTs, kept and shown. */
import { describe, expect, it } from 'vitest';
import { scenarioByName, simulate } from '@rootspan/sim';
import { noteOf } from '../src/incident-note.js';
import { call, testServer } from './helpers/server.js';

describe('noteOf', () => {
  it("reads by and note, and the prototype's names (resolved_by, acknowledged_by, resolution)", () => {
    expect(noteOf(Buffer.from(''), 'resolve')).toBeUndefined();
    expect(noteOf(Buffer.from(' {} '), 'resolve')).toBeUndefined();
    expect(noteOf(Buffer.from('{"by": " alice ", "note": "rolled back 2.4.1"}'), 'resolve')).toEqual({ by: 'alice', note: 'rolled back 2.4.1' });
    expect(noteOf(Buffer.from('{"resolved_by": "bob", "resolution": "restarted"}'), 'resolve')).toEqual({ by: 'bob', note: 'restarted' });
    expect(noteOf(Buffer.from('{"acknowledged_by": "carol", "note": null}'), 'acknowledge')).toEqual({ by: 'carol' });
  });

  it('refuses what it cannot keep, saying what to send', () => {
    expect(() => noteOf(Buffer.from('alice'), 'resolve')).toThrow(/not JSON: send a JSON object such as \{"by": "alice"/);
    expect(() => noteOf(Buffer.from('["alice"]'), 'resolve')).toThrow(/must be a JSON object/);
    expect(() => noteOf(Buffer.from('{"user": "alice"}'), 'resolve')).toThrow(/unknown field "user".*fields: by, note, resolved_by, resolution/);
    expect(() => noteOf(Buffer.from('{"resolution": "x"}'), 'acknowledge')).toThrow(/unknown field "resolution"/);
    expect(() => noteOf(Buffer.from('{"by": 7}'), 'resolve')).toThrow(/"by" must be a string/);
    expect(() => noteOf(Buffer.from(JSON.stringify({ note: 'x'.repeat(2001) })), 'resolve')).toThrow(/2001 characters long; at most 2000/);
    expect(() => noteOf(Buffer.from('{"by": "alice", "resolved_by": "bob"}'), 'resolve')).toThrow(/two fields give the name/);
  });
});

describe('POST /aiops/incidents/:id/acknowledge and /resolve with a body', () => {
  it('keeps who and why on the incident, in its timeline and in the answer; a bad body changes nothing', async () => {
    const server = await testServer({ token: 't' });
    // Its fault starts at 7 min: at 9 min, one incident is open.
    const { batches } = simulate({ ...scenarioByName('shop-payment-errors')!, durationMs: 9 * 60_000 });
    for (const b of batches) server.analyzer.ingest(b);
    server.analyzer.flush();
    const open = server.analyzer.incidents({ status: 'active' });
    expect(open.length).toBeGreaterThan(0);
    const id = open[0].id;
    const post = (action: string, body?: string) => call(server, `/aiops/incidents/${id}/${action}`, { method: 'POST', token: 't', ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }) });

    const bad = await post('acknowledge', '{"who": "alice"}');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/unknown field "who"/);
    expect(server.analyzer.incident(id)!.status).toBe('active');

    const acked = await post('acknowledge', JSON.stringify({ by: 'alice', note: 'looking at payment' }));
    expect(acked.status).toBe(200);
    expect(acked.body).toMatchObject({ status: 'acknowledged', acknowledgement: { by: 'alice', note: 'looking at payment' } });
    const resolved = await post('resolve', JSON.stringify({ resolved_by: 'bob', resolution: 'rolled back payment 2.4.1' }));
    expect(resolved.body).toMatchObject({ status: 'resolved', resolvedBy: 'user', resolution: { by: 'bob', note: 'rolled back payment 2.4.1' } });

    const detail = await call(server, `/aiops/incidents/${id}`, { token: 't' });
    const texts = detail.body.timeline.map((t: { event: string; text: string }) => `${t.event}: ${t.text}`);
    expect(texts).toContain('acknowledged: acknowledged by alice: looking at payment');
    expect(texts).toContain('resolved: resolved by hand by bob: rolled back payment 2.4.1');
    // Kept in the analyzer's state (a restart restores it).
    const restored = (await testServer()).analyzer;
    restored.restore(server.analyzer.snapshot());
    expect(restored.incident(id)).toMatchObject({ acknowledgement: { by: 'alice' }, resolution: { by: 'bob' } });
  }, 60_000);
});
