import type { Span } from '../../src/types.js';

let counter = 0;

/** A fresh hex id of the given length (deterministic within a test run). */
export function hexId(len: number): string {
  counter++;
  return counter.toString(16).padStart(len, '0');
}

/** Builds a span with sensible defaults; times in ms. */
export function span(p: Partial<Span> & { service: string; name: string; startTime: number; endTime: number }): Span {
  return { traceId: p.traceId ?? hexId(32), spanId: p.spanId ?? hexId(16), ...p };
}

/**
 * Builds a request tree: `call(parentSpan, service, route, ...)` adds a client span in the parent's service
 * and a server span in the callee, as OTel's HTTP instrumentation does.
 */
export class TraceBuilder {
  readonly spans: Span[] = [];
  readonly traceId = hexId(32);

  server(service: string, route: string, start: number, end: number, opts: Partial<Span> = {}, parent?: Span): Span {
    const s = span({
      traceId: this.traceId,
      service,
      name: `GET ${route}`,
      kind: 'server',
      startTime: start,
      endTime: end,
      parentSpanId: parent?.spanId,
      attributes: { 'http.request.method': 'GET', 'http.route': route, 'http.response.status_code': opts.status === 'error' ? 500 : 200 },
      ...opts,
    });
    this.spans.push(s);
    return s;
  }

  client(parent: Span, peer: string, start: number, end: number, opts: Partial<Span> = {}): Span {
    const s = span({
      traceId: this.traceId,
      service: parent.service,
      name: 'GET',
      kind: 'client',
      startTime: start,
      endTime: end,
      parentSpanId: parent.spanId,
      attributes: { 'http.request.method': 'GET', 'server.address': peer, 'server.port': 80 },
      ...opts,
    });
    this.spans.push(s);
    return s;
  }

  /** A client span plus the callee's server span inside it. */
  call(parent: Span, service: string, route: string, start: number, end: number, opts: { error?: boolean; serverEnd?: number } = {}): Span {
    const c = this.client(parent, service, start, end, opts.error ? { status: 'error' } : {});
    return this.server(service, route, start + 1, opts.serverEnd ?? end - 1, opts.error ? { status: 'error' } : {}, c);
  }

  db(parent: Span, system: string, op: string, start: number, end: number, opts: Partial<Span> = {}): Span {
    const s = span({
      traceId: this.traceId,
      service: parent.service,
      name: `${op} orders`,
      kind: 'client',
      startTime: start,
      endTime: end,
      parentSpanId: parent.spanId,
      attributes: { 'db.system': system, 'db.operation.name': op },
      ...opts,
    });
    this.spans.push(s);
    return s;
  }
}
