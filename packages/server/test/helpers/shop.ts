/**
 * A checkout → payment shop traced with the real OpenTelemetry SDK (two providers, as two processes), with
 * a payment outage from FAULT_FROM on; and export batches as each service's BatchSpanProcessor would send them.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Rng } from '@rootspan/sim';

export const MIN = 60_000;

export interface ShopOptions {
  /** Time of the first request, epoch ms. */
  t0: number;
  durationMs: number;
  /** Payment fails every request from this offset on (never when undefined). */
  faultFromMs?: number;
  rps?: number;
}

function provider(name: string) {
  const exporter = new InMemorySpanExporter();
  const p = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': name, 'service.version': '1.0.0' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  return { tracer: p.getTracer(`shop-${name}`), exporter };
}

/** Every request: checkout SERVER → checkout CLIENT → payment SERVER; payment answers 500 during the fault. */
export function shopSpans(o: ShopOptions): { checkout: ReadableSpan[]; payment: ReadableSpan[] } {
  const checkout = provider('checkout');
  const payment = provider('payment');
  const rng = new Rng(7);
  const rps = o.rps ?? 5;
  const http = (status: number, extra: Attributes): Attributes => ({ 'http.request.method': 'POST', 'http.response.status_code': status, ...extra });
  for (let i = 0; i < (o.durationMs / 1000) * rps; i++) {
    const start = o.t0 + (i * 1000) / rps + rng.next() * 50;
    const failing = o.faultFromMs !== undefined && start - o.t0 >= o.faultFromMs;
    const payMs = 20 + rng.next() * 15;
    const callStart = start + 2 + rng.next() * 3;
    const callEnd = callStart + payMs + 1;
    const server = checkout.tracer.startSpan(
      'POST /checkout',
      { kind: SpanKind.SERVER, startTime: start, attributes: http(failing ? 502 : 200, { 'http.route': '/checkout' }) },
      ROOT_CONTEXT,
    );
    const client = checkout.tracer.startSpan(
      'POST',
      { kind: SpanKind.CLIENT, startTime: callStart, attributes: http(failing ? 500 : 200, { 'server.address': 'payment', 'server.port': 8081, 'url.full': 'http://payment:8081/payment?card=4111111111111111' }) },
      trace.setSpan(ROOT_CONTEXT, server),
    );
    const paid = payment.tracer.startSpan(
      'POST /payment',
      { kind: SpanKind.SERVER, startTime: callStart + 0.5, attributes: http(failing ? 500 : 200, { 'http.route': '/payment' }) },
      trace.setSpanContext(ROOT_CONTEXT, client.spanContext()),
    );
    if (failing) {
      paid.setStatus({ code: SpanStatusCode.ERROR, message: 'card processor unavailable' });
      client.setStatus({ code: SpanStatusCode.ERROR });
      server.setStatus({ code: SpanStatusCode.ERROR, message: 'payment failed' });
    }
    paid.end(callStart + 0.5 + payMs);
    client.end(callEnd);
    server.end(callEnd + 3);
  }
  return { checkout: checkout.exporter.getFinishedSpans(), payment: payment.exporter.getFinishedSpans() };
}

const endMs = (s: ReadableSpan): number => s.endTime[0] * 1000 + s.endTime[1] / 1e6;

/** Each service's spans cut into exports every `everyMs` of end time, in the order the exports would happen. */
export function exportBatches(services: ReadableSpan[][], everyMs: number): ReadableSpan[][] {
  const out: Array<{ at: number; spans: ReadableSpan[] }> = [];
  for (const list of services) {
    const batches = new Map<number, ReadableSpan[]>();
    for (const s of list) {
      const at = Math.floor(endMs(s) / everyMs) * everyMs + everyMs;
      let b = batches.get(at);
      if (b === undefined) batches.set(at, (b = []));
      b.push(s);
    }
    for (const [at, spans] of batches) out.push({ at, spans });
  }
  return out.sort((a, b) => a.at - b.at).map((e) => e.spans);
}
