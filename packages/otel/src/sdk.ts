import type { Attributes, Context, HrTime, SpanContext, SpanKind, SpanStatus } from '@opentelemetry/api';

/**
 * The SDK objects rootspan receives, typed structurally: only the members it uses. Every OpenTelemetry JS
 * line hands over objects of this shape — `ReadableSpan` of `@opentelemetry/sdk-trace-base` 2.x and of
 * `@opentelemetry/sdk-trace` 3.x are field-for-field the same here, and 1.x differs only where noted — so
 * rootspan peers on no SDK package and installs next to any (a hard peer on one line breaks `npm install`
 * for the others). Nor on `@opentelemetry/core`: the few things it would give are written here, so a
 * project installing SDK 3 with npm running on Node 20 does not get a `core` 2 for rootspan, whose `api`
 * peer (< 1.10) contradicts SDK 3's.
 */

/** The parts of an SDK `Resource` rootspan reads: the service identity, possibly behind async detectors. */
export interface SpanResource {
  readonly attributes: Attributes;
  /** True while async resource detectors (NodeSDK's `host.id`) have not settled. */
  readonly asyncAttributesPending?: boolean;
  waitForAsyncAttributes?(): Promise<void>;
  /** `[key, value]` pairs, merged resources first-wins; a value may still be a promise (SDK 2.x and 3.x). */
  getRawAttributes?(): ReadonlyArray<readonly [string, unknown]>;
  /** SDK 1.x: the attributes known without waiting (what `attributes` answers, with an error logged, while pending). */
  readonly _syncAttributes?: Attributes;
}

/** A span event; rootspan reads `exception` events. */
export interface SpanEvent {
  readonly name: string;
  readonly attributes?: Attributes;
}

/** The fields of a finished SDK span (`ReadableSpan`, SDK 1.x, 2.x and 3.x) that rootspan reads. */
export interface FinishedSpan {
  readonly name: string;
  readonly kind: SpanKind;
  readonly spanContext: () => SpanContext;
  /** The parent's context (SDK 2.x and 3.x). */
  readonly parentSpanContext?: SpanContext;
  /** The parent's id (SDK 1.x, which says nothing of whether the parent is remote). */
  readonly parentSpanId?: string;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  readonly events: readonly SpanEvent[];
  /** Links to other spans; rootspan reads a consumer span's (the producer span that sent its message). */
  readonly links?: readonly { readonly context: SpanContext }[];
  readonly resource: SpanResource;
}

/** The SpanProcessor contract of every SDK line, with the ended span typed structurally. */
export interface SpanProcessor {
  onStart(span: unknown, parentContext: Context): void;
  onEnd(span: FinishedSpan): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** `ExportResultCode` of `@opentelemetry/core`: the same numbers in every line. */
export const ExportResultCode = { SUCCESS: 0, FAILED: 1 } as const;

/** An export's outcome, as `@opentelemetry/core`'s `ExportResult`. */
export interface ExportResult {
  code: number;
  error?: Error;
}

/** Epoch milliseconds of an SDK time, as `@opentelemetry/core`'s `hrTimeToMilliseconds`. */
export function hrTimeToMilliseconds(time: HrTime): number {
  return time[0] * 1e3 + time[1] / 1e6;
}

/** The SpanExporter contract of every SDK line, with the spans typed structurally. */
export interface SpanExporter {
  export(spans: FinishedSpan[], resultCallback: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}
