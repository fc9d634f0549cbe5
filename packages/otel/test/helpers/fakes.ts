import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Attributes,
  type Context,
  type ContextManager,
  type HrTime,
} from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Analyzer, AnalyzerStats, Anomaly, IncidentEvent, InFlightCall, Span } from '@rootspan/engine';

let n = 0;
const hex = (len: number) => (++n).toString(16).padStart(len, '0');

const serviceResource = resourceFromAttributes({ 'service.name': 'checkout', 'service.version': '1.2.3' });

/** A minimal ReadableSpan literal, as the SDK hands to onEnd. */
export function readable(p: {
  name?: string;
  kind?: SpanKind;
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  start?: HrTime;
  end?: HrTime;
  status?: { code: SpanStatusCode; message?: string };
  attributes?: Attributes;
  events?: ReadableSpan['events'];
  resource?: ReadableSpan['resource'];
} = {}): ReadableSpan {
  const traceId = p.traceId ?? hex(32);
  const spanId = p.spanId ?? hex(16);
  const start = p.start ?? [1_700_000_000, 0];
  const end = p.end ?? [1_700_000_000, 5_000_000];
  return {
    name: p.name ?? 'POST /checkout',
    kind: p.kind ?? SpanKind.SERVER,
    spanContext: () => ({ traceId, spanId, traceFlags: TraceFlags.SAMPLED }),
    parentSpanContext: p.parentSpanId
      ? { traceId, spanId: p.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: false }
      : undefined,
    startTime: start,
    endTime: end,
    status: p.status ?? { code: SpanStatusCode.UNSET },
    attributes: p.attributes ?? {},
    links: [],
    events: p.events ?? [],
    duration: [end[0] - start[0], end[1] - start[1]],
    ended: true,
    resource: p.resource ?? serviceResource,
    instrumentationScope: { name: 'test' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

const emptyStats = (): AnalyzerStats => ({
  ingested: 0,
  accepted: 0,
  dropped: 0,
  droppedBy: { invalid: 0, badTime: 0, late: 0, future: 0, traceTooLarge: 0, duplicate: 0 },
  traces: { buffered: 0, processed: 0, evictedEarly: 0 },
  operations: 0,
  overflow: { operations: 0, requests: 0, calls: 0, evicted: 0, sent: 0 },
  instances: { tracked: 0, untrackedSpans: 0 },
  listenerErrors: 0,
  clockAhead: 0,
  anomalies: { active: 0, total: 0 },
  incidents: { active: 0, total: 0 },
  now: null,
  watermark: null,
});

/**
 * An Analyzer that records calls. Unlike the real engine it does NOT catch listener exceptions, so the
 * tests prove rootspan's own wrapping. `throwIn` makes the named method throw.
 */
export class FakeAnalyzer implements Analyzer {
  readonly ingestCalls: Span[][] = [];
  readonly advanceCalls: number[] = [];
  flushCalls = 0;
  throwIn = new Set<'ingest' | 'advanceTo' | 'flush'>();
  /** Busy-waits this long in every ingest call (to exercise the drain budget). */
  ingestCostMs = 0;
  readonly incidentListeners = new Set<(e: IncidentEvent) => void>();
  readonly anomalyListeners = new Set<(a: Anomaly) => void>();
  readonly options = {} as Analyzer['options'];

  get ingested(): Span[] {
    return this.ingestCalls.flat();
  }
  ingest(spans: readonly Span[] | Span) {
    if (this.throwIn.has('ingest')) throw new Error('boom: ingest');
    const list = Array.isArray(spans) ? [...spans] : [spans as Span];
    this.ingestCalls.push(list);
    if (this.ingestCostMs > 0) {
      const until = performance.now() + this.ingestCostMs;
      while (performance.now() < until) {
        /* burn */
      }
    }
    return { accepted: list.length, dropped: 0 };
  }
  /** Every in-flight report (the processor sends one per tick). */
  readonly inFlightReports: Array<{ calls: readonly InFlightCall[]; at: number }> = [];
  inFlight(calls: readonly InFlightCall[], at: number) {
    this.inFlightReports.push({ calls, at });
  }
  advanceTo(t: number) {
    if (this.throwIn.has('advanceTo')) throw new Error('boom: advanceTo');
    this.advanceCalls.push(t);
  }
  flush() {
    this.flushCalls++;
    if (this.throwIn.has('flush')) throw new Error('boom: flush');
  }
  onAnomaly(l: (a: Anomaly) => void) {
    this.anomalyListeners.add(l);
    return () => this.anomalyListeners.delete(l);
  }
  onIncident(l: (e: IncidentEvent) => void) {
    this.incidentListeners.add(l);
    return () => this.incidentListeners.delete(l);
  }
  onRollup() {
    return () => false;
  }
  /** Delivers an incident event to the listeners, without catching (the real engine would). */
  emitIncident(e: IncidentEvent) {
    for (const l of this.incidentListeners) l(e);
  }
  emitAnomaly(a: Anomaly) {
    for (const l of this.anomalyListeners) l(a);
  }
  incidents() {
    return [];
  }
  incident() {
    return undefined;
  }
  anomalies() {
    return [];
  }
  metrics() {
    return [];
  }
  baselines() {
    return [];
  }
  serviceGraph() {
    return { nodes: [], edges: [], window: null };
  }
  acknowledge() {
    return undefined;
  }
  resolve() {
    return undefined;
  }
  snapshot(): ReturnType<Analyzer['snapshot']> {
    return {} as ReturnType<Analyzer['snapshot']>;
  }
  restore() {}
  stats() {
    return emptyStats();
  }
  now() {
    return null;
  }
  acceptedEnds() {
    return { from: -Infinity, to: Infinity };
  }
}

/** A plausible incident event for callback and logger tests. */
export function incidentEvent(type: IncidentEvent['type'] = 'opened', severity: IncidentEvent['incident']['severity'] = 'high'): IncidentEvent {
  return {
    type,
    incident: {
      id: 'inc-1',
      status: type === 'resolved' ? 'resolved' : 'active',
      severity,
      title: 'payment POST /payment errors',
      openedAt: 1,
      updatedAt: 2,
      acknowledgedAt: null,
      resolvedAt: null,
      resolvedBy: null,
      rootCause: {
        service: 'payment',
        operation: 'POST /payment',
        kind: 'errors',
        confidence: 0.9,
        explanation: 'payment POST /payment error rate 100% vs baseline 0%',
      },
      candidates: [],
      affected: [],
      anomalies: [],
      traceIds: ['t1', 't2', 't3', 't4'],
    },
  };
}

/**
 * A synchronous stack context manager, so `context.with`/`context.active()` work in unit tests without
 * async_hooks (the e2e test uses the SDK's real one).
 */
export class StackContextManager implements ContextManager {
  private stack: Context[] = [];
  active(): Context {
    return this.stack[this.stack.length - 1] ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    this.stack.push(ctx);
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.stack.pop();
    }
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.stack = [];
    return this;
  }
}

/** Lets pending setImmediate callbacks (the drain) run. */
export const nextTurn = () => new Promise<void>((r) => setImmediate(r));
