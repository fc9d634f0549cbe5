import type { Attributes, Context, HrTime, SpanContext, SpanKind, SpanStatus } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';

/**
 * The SDK objects rootspan receives, typed structurally: only the members it uses. Both OpenTelemetry JS
 * lines hand over objects of this shape — `ReadableSpan` of `@opentelemetry/sdk-trace-base` 2.x and of
 * `@opentelemetry/sdk-trace` 3.x are field-for-field the same here — so rootspan peers on neither SDK
 * package and installs next to either (a hard peer on one line breaks `npm install` for the other).
 */

/** The parts of an SDK `Resource` rootspan reads: the service identity, possibly behind async detectors. */
export interface SpanResource {
  readonly attributes: Attributes;
  /** True while async resource detectors (NodeSDK's `host.id`) have not settled. */
  readonly asyncAttributesPending?: boolean;
  waitForAsyncAttributes?(): Promise<void>;
  /** `[key, value]` pairs, merged resources first-wins; a value may still be a promise. */
  getRawAttributes(): ReadonlyArray<readonly [string, unknown]>;
}

/** A span event; rootspan reads `exception` events. */
export interface SpanEvent {
  readonly name: string;
  readonly attributes?: Attributes;
}

/** The fields of a finished SDK span (`ReadableSpan`, SDK 2.x and 3.x) that rootspan reads. */
export interface FinishedSpan {
  readonly name: string;
  readonly kind: SpanKind;
  readonly spanContext: () => SpanContext;
  /** The parent's context (both lines; SDK 1.x had `parentSpanId` instead). */
  readonly parentSpanContext?: SpanContext;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  readonly events: readonly SpanEvent[];
  readonly resource: SpanResource;
}

/** The SpanProcessor contract of both SDK lines, with the ended span typed structurally. */
export interface SpanProcessor {
  onStart(span: unknown, parentContext: Context): void;
  onEnd(span: FinishedSpan): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** The SpanExporter contract of both SDK lines, with the spans typed structurally. */
export interface SpanExporter {
  export(spans: FinishedSpan[], resultCallback: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}
