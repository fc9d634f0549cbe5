/**
 * Real OpenTelemetry SDK spans (the test oracle): finished `ReadableSpan`s from a `BasicTracerProvider`
 * with an in-memory exporter, to be serialised by `@opentelemetry/otlp-transformer`.
 */
import { SpanKind, SpanStatusCode, context, trace, type Attributes, type HrTime, type Link } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export { SpanKind, SpanStatusCode };

/** A provider for one service; `finished()` returns the spans ended so far. */
export function sdkService(resource: Attributes) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes(resource), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('test-lib', '1.0.0');
  return {
    /** Starts and ends a span; `parent` makes it a child. */
    span(
      name: string,
      opts: {
        kind?: SpanKind;
        start: HrTime | number;
        end: HrTime | number;
        attributes?: Attributes;
        status?: { code: SpanStatusCode; message?: string };
        exception?: Error;
        parent?: ReadableSpan;
        links?: Link[];
      },
    ): ReadableSpan {
      const ctx = opts.parent ? trace.setSpanContext(context.active(), opts.parent.spanContext()) : context.active();
      const s = tracer.startSpan(name, { kind: opts.kind, startTime: opts.start, attributes: opts.attributes, links: opts.links }, ctx);
      if (opts.exception) s.recordException(opts.exception, opts.start);
      if (opts.status) s.setStatus(opts.status);
      s.end(opts.end);
      const done = exporter.getFinishedSpans();
      return done[done.length - 1];
    },
    finished: () => exporter.getFinishedSpans(),
  };
}

/** Exact epoch ms of an HrTime, split as whole ms + fraction (what a lossless decoder should give). */
export function hrTimeToMsExact(t: HrTime): { whole: number; frac: number } {
  const ns = BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
  return { whole: Number(ns / 1_000_000n), frac: Number(ns % 1_000_000n) / 1e6 };
}
