/**
 * Trace files from other systems: Jaeger's JSON (its UI's download, its query API's answer) and Zipkin's
 * v2 JSON (with B3 shared spans, where the server side reuses its client's id). A frontend → checkout →
 * payment shop, three minutes at 20 requests/s; from 90 s on a third of the payments fail: one incident,
 * on payment, and nothing before the fault.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFile } from '@rootspan/eval';

const dir = mkdtempSync(join(tmpdir(), 'rootspan-foreign-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0_US = Date.UTC(2026, 10, 30, 12) * 1000;
const hex = (n: number) => n.toString(16).padStart(16, '0');

interface Hop {
  service: string;
  route: string;
  method: string;
  /** µs after the request starts, and how long the hop's server side takes. */
  at: number;
  duration: number;
}

/** One request's hops, each called by the one before it; the payment fails in `failing` requests. */
function hops(i: number, failing: boolean): Array<Hop & { error: boolean }> {
  const jitter = (i * 7919) % 3000;
  return [
    { service: 'frontend', route: '/checkout', method: 'GET', at: 0, duration: 42_000 + jitter, error: failing },
    { service: 'checkout', route: '/orders', method: 'POST', at: 2_000, duration: 36_000 + jitter, error: failing },
    { service: 'payment', route: '/charge', method: 'POST', at: 6_000, duration: 25_000 + jitter, error: failing },
  ];
}

function* requests(): Generator<{ i: number; start: number; failing: boolean }> {
  for (let i = 0; i < 180 * 20; i++) {
    const start = T0_US + i * 50_000;
    yield { i, start, failing: i >= 90 * 20 && i % 3 === 0 };
  }
}

/** Jaeger JSON: `{ data: [trace, ...] }`, one trace per request, client and server spans with `span.kind`. */
function jaeger(name: string, fault: boolean): string {
  const data = [];
  for (const { i, start, failing } of requests()) {
    const traceID = hex(i + 1);
    const spans: unknown[] = [];
    let parent: string | undefined;
    let id = 1;
    for (const hop of hops(i, fault && failing)) {
      const server = `${traceID.slice(8)}${hex(id++).slice(8)}`;
      const tags = [
        { key: 'span.kind', type: 'string', value: 'server' },
        { key: 'http.method', type: 'string', value: hop.method },
        { key: 'http.route', type: 'string', value: hop.route },
        { key: 'http.status_code', type: 'int64', value: hop.error ? 500 : 200 },
        ...(hop.error ? [{ key: 'error', type: 'bool', value: true }] : []),
      ];
      spans.push({ traceID, spanID: server, operationName: `${hop.method} ${hop.route}`, references: parent ? [{ refType: 'CHILD_OF', traceID, spanID: parent }] : [], startTime: start + hop.at, duration: hop.duration, tags, logs: [], processID: hop.service, warnings: null });
      const client = `${traceID.slice(8)}${hex(id++).slice(8)}`;
      parent = client;
      // The call this hop makes to the next one.
      spans.push({ traceID, spanID: client, operationName: 'HTTP POST', references: [{ refType: 'CHILD_OF', traceID, spanID: server }], startTime: start + hop.at + 1_000, duration: hop.duration - 4_000, tags: [{ key: 'span.kind', type: 'string', value: 'client' }, ...(hop.error ? [{ key: 'error', type: 'bool', value: true }] : [])], logs: [], processID: hop.service, warnings: null });
    }
    spans.splice(-1); // the last hop calls nothing
    const processes = Object.fromEntries(['frontend', 'checkout', 'payment'].map((s) => [s, { serviceName: s, tags: [{ key: 'service.version', type: 'string', value: '1.4.2' }] }]));
    data.push({ traceID, spans, processes, warnings: null });
  }
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ data, total: 0, limit: 0, offset: 0, errors: null }, null, 2));
  return path;
}

/** Zipkin v2 JSON: one array of spans; each server side shares its client's id (`shared: true`). */
function zipkin(name: string, fault: boolean): string {
  const spans: unknown[] = [];
  for (const { i, start, failing } of requests()) {
    const traceId = hex(i + 1);
    let id = 1;
    let callId: string | undefined;
    const list = hops(i, fault && failing);
    list.forEach((hop, h) => {
      const serverId = callId ?? hex(i * 16 + id++);
      const tags: Record<string, string> = { 'http.method': hop.method, 'http.route': hop.route, 'http.status_code': hop.error ? '500' : '200', ...(hop.error ? { error: '500' } : {}) };
      spans.push({ traceId, id: serverId, ...(callId ? { shared: true } : {}), kind: 'SERVER', name: `${hop.method.toLowerCase()} ${hop.route}`, timestamp: start + hop.at, duration: hop.duration, localEndpoint: { serviceName: hop.service, ipv4: '10.0.0.1' }, tags });
      if (h === list.length - 1) return;
      callId = hex(i * 16 + id++);
      spans.push({ traceId, id: callId, parentId: serverId, kind: 'CLIENT', name: 'post', timestamp: start + hop.at + 1_000, duration: hop.duration - 4_000, localEndpoint: { serviceName: hop.service }, remoteEndpoint: { serviceName: list[h + 1].service }, tags: hop.error ? { error: '500' } : {} });
    });
  }
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(spans));
  return path;
}

/** Zipkin v1 JSON: each call one span annotated on both sides (`cs`/`sr`/`ss`/`cr`), the entry one `sr`/`ss` only. */
function zipkinV1(name: string, fault: boolean): string {
  const spans: unknown[] = [];
  for (const { i, start, failing } of requests()) {
    const traceId = hex(i + 1);
    const list = hops(i, fault && failing);
    let parentId: string | undefined;
    list.forEach((hop, h) => {
      const id = hex(i * 16 + h + 1);
      const ep = (service: string) => ({ serviceName: service, ipv4: '10.0.0.1' });
      const server = [
        { timestamp: start + hop.at, value: 'sr', endpoint: ep(hop.service) },
        { timestamp: start + hop.at + hop.duration, value: 'ss', endpoint: ep(hop.service) },
      ];
      // The caller's side of this call: it started a little before the callee and ended a little after.
      const caller = h === 0 ? [] : [
        { timestamp: start + list[h - 1].at + 1_000, value: 'cs', endpoint: ep(list[h - 1].service) },
        { timestamp: start + hop.at + hop.duration + 500, value: 'cr', endpoint: ep(list[h - 1].service) },
      ];
      const binaryAnnotations = [
        { key: 'http.method', value: hop.method, endpoint: ep(hop.service) },
        { key: 'http.route', value: hop.route, endpoint: ep(hop.service) },
        ...(hop.error ? [{ key: 'error', value: '500', endpoint: ep(hop.service) }] : []),
      ];
      spans.push({ traceId, id, ...(parentId ? { parentId } : {}), name: `${hop.method.toLowerCase()} ${hop.route}`, timestamp: start + hop.at, duration: hop.duration, annotations: [...caller, ...server], binaryAnnotations });
      parentId = id;
    });
  }
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(spans));
  return path;
}

describe.each([
  ['Jaeger JSON', jaeger],
  ['Zipkin v2 JSON', zipkin],
  ['Zipkin v1 JSON', zipkinV1],
])('%s', (_, write) => {
  it('healthy: every span read, no incident', async () => {
    const report = await analyzeFile(write(`${write.name}-healthy`, false));
    expect(report.summary.spans).toBe(180 * 20 * 5);
    expect(report.summary.services).toEqual(['checkout', 'frontend', 'payment']);
    expect(report.incidents).toEqual([]);
  });

  it('failing payments: one incident, rooted in payment', async () => {
    const report = await analyzeFile(write(`${write.name}-fault`, true));
    expect(report.incidents).toHaveLength(1);
    expect(report.incidents[0].rootCause).toMatchObject({ service: 'payment', operation: 'POST /charge', kind: 'errors' });
    expect(Date.parse(report.incidents[0].openedAt)).toBeGreaterThanOrEqual(T0_US / 1000 + 90_000);
  });
});
