import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../src/index.js';
import type { Analyzer, Span } from '../src/index.js';
import { watch } from './helpers/events.js';
import { TraceBuilder, span } from './helpers/spans.js';

const T0 = Date.UTC(2026, 0, 1);
const RPS = 30;
const WARMUP_S = 120;

/** The operations a GraphQL client sends (the 4th is anonymous), and the catalog path each resolver calls. */
const OPERATIONS = [
  { type: 'query', name: 'GetProduct', field: 'product', path: '/products/:id' },
  { type: 'query', name: 'GetReviews', field: 'reviews', path: '/reviews/:id' },
  { type: 'mutation', name: 'AddToCart', field: 'addToCart', path: '/cart' },
  { type: 'query', name: undefined, field: 'product', path: '/products/:id' },
] as const;

interface Fault {
  from: number;
  /** Share of GetReviews requests whose resolver throws (GraphQL answers 200 with `errors`). */
  resolverErrors?: number;
}

/**
 * A GraphQL gateway (Apollo Server with instrumentation-graphql, as a probe recorded it): every request is
 * a `POST` to one path, answered 200; an internal span executes its operation (`query GetProduct`, with
 * `graphql.operation.*`), a resolver span under it (`graphql.field.name`) calls catalog.
 */
function gatewayTrace(start: number, i: number, fault: Fault | undefined): Span[] {
  const op = OPERATIONS[i % OPERATIONS.length];
  const t = new TraceBuilder();
  const post = t.server('gateway', '/graphql', start, start + 16, { name: 'POST /graphql', attributes: { 'http.request.method': 'POST', 'http.route': '/graphql', 'http.response.status_code': 200 } });
  const execute = span({
    traceId: t.traceId,
    service: 'gateway',
    name: op.name === undefined ? op.type : `${op.type} ${op.name}`,
    kind: 'internal',
    parentSpanId: post.spanId,
    startTime: start + 1,
    endTime: start + 15,
    attributes: op.name === undefined ? { 'graphql.operation.type': op.type } : { 'graphql.operation.type': op.type, 'graphql.operation.name': op.name },
  });
  t.spans.push(execute);
  const broken = fault !== undefined && start >= fault.from && op.name === 'GetReviews' && (i * 7919) % 100 < (fault.resolverErrors ?? 0) * 100;
  const resolve = span({
    traceId: t.traceId,
    service: 'gateway',
    name: `graphql.resolve ${op.field}`,
    kind: 'internal',
    parentSpanId: execute.spanId,
    startTime: start + 2,
    endTime: broken ? start + 3 : start + 14,
    status: broken ? 'error' : undefined,
    attributes: { 'graphql.field.name': op.field, 'graphql.field.path': op.field },
  });
  t.spans.push(resolve);
  if (!broken) {
    const call = t.client(resolve, 'catalog', start + 3, start + 13, { name: 'GET', attributes: { 'http.request.method': 'GET', 'server.address': 'catalog', 'server.port': 80, 'url.full': `http://catalog${op.path.replace(':id', String(i))}`, 'http.response.status_code': 200 } });
    t.server('catalog', op.path, start + 4, start + 12 + (i % 3), {}, call);
  }
  return t.spans;
}

function run(a: Analyzer, seconds: number, fault?: Fault): void {
  for (let s = 0; s < seconds; s++) {
    const batch: Span[] = [];
    for (let i = 0; i < RPS; i++) batch.push(...gatewayTrace(T0 + s * 1000 + i * (1000 / RPS), s * RPS + i, fault));
    a.ingest(batch);
    a.advanceTo(T0 + (s + 1) * 1000);
  }
}

describe('GraphQL: one HTTP endpoint, many operations, errors in a 200 answer', () => {
  it('names each request by its operation (an anonymous one keeps its HTTP name); healthy traffic opens nothing', () => {
    const a = createAnalyzer();
    const events = watch(a);
    run(a, 180);
    expect(events).toEqual([]);
    const gateway = a.metrics().filter((m) => m.service === 'gateway').map((m) => m.operation).sort();
    expect(gateway).toEqual(['POST /graphql', 'mutation AddToCart', 'query GetProduct', 'query GetReviews']);
  });

  it('a resolver throwing (HTTP 200 with errors) fails its request: the operation is named, in its own code', () => {
    const a = createAnalyzer();
    const events = watch(a);
    run(a, WARMUP_S + 30, { from: T0 + WARMUP_S * 1000, resolverErrors: 0.4 });
    const opened = events.find((e) => e.type === 'opened');
    expect(opened?.incident.rootCause).toMatchObject({ service: 'gateway', operation: 'query GetReviews', kind: 'errors' });
    expect(opened?.incident.title).toBe('Errors in gateway query GetReviews');
    expect((opened?.incident.openedAt ?? Infinity) - (T0 + WARMUP_S * 1000)).toBeLessThan(15_000);
    const reviews = a.metrics().find((m) => m.operation === 'query GetReviews');
    expect(reviews?.errors).toBeGreaterThan(0);
    expect(a.metrics().find((m) => m.operation === 'query GetProduct')?.errors).toBe(0);
  });

  it('an anonymous operation with its document is named by its selections: two queries, two operations', () => {
    const a = createAnalyzer();
    const spans: Span[] = [];
    // Two anonymous queries of one root field (as instrumentation-graphql records them: literals masked), one with an alias and a fragment.
    const sources = ['{ book(id: "*") { title author { name } } }', 'query ($id: ID!) {\n  first: book(id: $id) { title ...Extra reviews { rating } }\n}'];
    for (let i = 0; i < 40; i++) {
      const t = new TraceBuilder();
      const post = t.server('api', '/graphql', T0 + i * 10, T0 + i * 10 + 5, { name: 'POST /graphql', attributes: { 'http.request.method': 'POST', 'http.route': '/graphql', 'http.response.status_code': 200 } });
      t.spans.push(span({ traceId: t.traceId, service: 'api', name: 'query', kind: 'internal', parentSpanId: post.spanId, startTime: T0 + i * 10 + 1, endTime: T0 + i * 10 + 4, attributes: { 'graphql.operation.type': 'query', 'graphql.source': sources[i % 2] } }));
      spans.push(...t.spans);
    }
    a.ingest(spans);
    a.flush();
    expect(a.metrics().map((m) => m.operation).sort()).toEqual(['query { book { title ...Extra reviews } }', 'query { book { title author } }']);
  });

  it('a batch of operations in one request keeps its HTTP name; the names a service gets are bounded', () => {
    const a = createAnalyzer();
    const spans: Span[] = [];
    for (let i = 0; i < 150; i++) {
      const t = new TraceBuilder();
      const post = t.server('api', '/graphql', T0 + i * 10, T0 + i * 10 + 5, { name: 'POST /graphql', attributes: { 'http.request.method': 'POST', 'http.route': '/graphql', 'http.response.status_code': 200 } });
      const names = i === 0 ? ['A', 'B'] : [`Op${i}`];
      for (const name of names) {
        t.spans.push(span({ traceId: t.traceId, service: 'api', name: `query ${name}`, kind: 'internal', parentSpanId: post.spanId, startTime: T0 + i * 10 + 1, endTime: T0 + i * 10 + 4, attributes: { 'graphql.operation.type': 'query', 'graphql.operation.name': name } }));
      }
      spans.push(...t.spans);
    }
    a.ingest(spans);
    a.flush();
    const ops = a.metrics().map((m) => m.operation);
    expect(ops).toContain('POST /graphql');
    expect(ops).not.toContain('query A');
    expect(ops.filter((o) => o.startsWith('query '))).toHaveLength(100);
  });
});
