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

/**
 * Spans by the second they end in, from `t0` (as exporters send them): `add` each span, then `feed` hands each
 * second's spans to the analyzer and moves its clock past that second, for `seconds` seconds.
 */
export class ByEndSecond {
  private readonly due = new Map<number, Span[]>();
  constructor(private readonly t0: number) {}

  add(s: Span): void {
    const sec = Math.floor((s.endTime - this.t0) / 1000);
    let list = this.due.get(sec);
    if (list === undefined) this.due.set(sec, (list = []));
    list.push(s);
  }

  feed(a: { ingest(spans: Span[]): unknown; advanceTo(t: number): unknown }, seconds: number): void {
    for (let s = 0; s <= seconds; s++) {
      a.ingest(this.due.get(s) ?? []);
      a.advanceTo(this.t0 + (s + 1) * 1000);
    }
  }
}
