import { SpanKind as OtelSpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { ANALYZED_ATTRIBUTE_KEYS, MAX_LINKS, type AttributeValue, type Span, type SpanKind, type SpanLink } from '@rootspan/engine';
import { namePeer, type PeerNames } from './peers.js';
import { hrTimeToMilliseconds, type FinishedSpan, type SpanEvent, type SpanResource } from './sdk.js';

/**
 * ReadableSpan → engine {@link Span}. This runs inside `SpanProcessor.onEnd`, i.e. synchronously on the
 * request path of the host service, so it does the least work that keeps the engine's answers right:
 * no allocation beyond the result, no string formatting, no regexes.
 */

/** OTel's numeric SpanKind, indexed: INTERNAL=0, SERVER=1, CLIENT=2, PRODUCER=3, CONSUMER=4. */
const KINDS: Record<number, SpanKind> = {
  [OtelSpanKind.INTERNAL]: 'internal',
  [OtelSpanKind.SERVER]: 'server',
  [OtelSpanKind.CLIENT]: 'client',
  [OtelSpanKind.PRODUCER]: 'producer',
  [OtelSpanKind.CONSUMER]: 'consumer',
};

/** The all-zero ids the API uses for "no span"; such a context never reaches onEnd from the SDK. */
const INVALID_TRACE_ID = '00000000000000000000000000000000';
const INVALID_SPAN_ID = '0000000000000000';

/** Exception events carry these; copied to span attributes because the engine reads attributes only. */
const EXCEPTION_TYPE = 'exception.type';
const EXCEPTION_MESSAGE = 'exception.message';
/** The attribute the engine names a callee by first. */
const PEER_SERVICE = 'peer.service';

/** Resource identity, cached per Resource object: a service has one resource, so this is one lookup per span. */
interface ServiceIdentity {
  service: string;
  version: string | undefined;
}
const identities = new WeakMap<object, ServiceIdentity>();
/** The last resource looked up: a process has one, so this spares the WeakMap lookup on almost every span. */
let lastResource: object | undefined;
let lastIdentity: ServiceIdentity | undefined;
/** Resources whose async attributes rootspan has asked to settle (once each). */
const settling = new WeakSet<object>();

/** What the OpenTelemetry spec names a service that did not set `service.name`. */
const UNKNOWN_SERVICE = 'unknown_service';

function identityOf(resource: SpanResource | undefined): ServiceIdentity {
  if (resource === undefined || resource === null) return { service: UNKNOWN_SERVICE, version: undefined };
  if (resource === lastResource) return lastIdentity as ServiceIdentity;
  const cached = identities.get(resource);
  if (cached !== undefined) {
    lastResource = resource;
    lastIdentity = cached;
    return cached;
  }
  let name: unknown;
  let version: unknown;
  const pending = resource.asyncAttributesPending === true;
  if (pending) {
    // NodeSDK's default detectors leave async attributes (host.id) pending until someone calls
    // waitForAsyncAttributes(); until then `resource.attributes` logs a diag error on *every* access. Ask
    // once for them to settle (BatchSpanProcessor does the same before exporting; it never rejects) and
    // meanwhile read the raw list like the SDK does: the first settled, non-null value of a key wins
    // (merge puts the overriding resource first).
    if (!settling.has(resource) && typeof resource.waitForAsyncAttributes === 'function') {
      settling.add(resource);
      resource.waitForAsyncAttributes().then(undefined, () => {});
    }
    if (typeof resource.getRawAttributes === 'function') {
      for (const [k, v] of resource.getRawAttributes()) {
        if (k === 'service.name') name ??= settled(v);
        else if (k === 'service.version') version ??= settled(v);
      }
    } else {
      // SDK 1.x: its sync attributes (where NodeSDK's `serviceName` is), without the error `attributes` logs.
      const sync = resource._syncAttributes ?? {};
      name = sync['service.name'];
      version = sync['service.version'];
    }
  } else {
    const attrs = resource.attributes ?? {};
    name = attrs['service.name'];
    version = attrs['service.version'];
  }
  const id: ServiceIdentity = {
    service: typeof name === 'string' && name.length > 0 ? name : UNKNOWN_SERVICE,
    version: typeof version === 'string' && version.length > 0 ? version : undefined,
  };
  // Not cached while pending: the settled attributes may still change the answer.
  if (!pending) {
    identities.set(resource, id);
    lastResource = resource;
    lastIdentity = id;
  }
  return id;
}

/** A raw resource value, or undefined while it is an unsettled promise (or null). */
function settled(v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'object' && typeof (v as PromiseLike<unknown>).then === 'function') return undefined;
  return v;
}

function isScalar(v: unknown): v is AttributeValue {
  const t = typeof v;
  return t === 'string' || t === 'boolean' || (t === 'number' && Number.isFinite(v as number));
}

/** Keeps only the attributes the engine reads; arrays and everything else are memory it never looks at. */
function analyzedAttributes(source: Attributes | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  if (source === undefined || source === null) return out;
  // Walking the span's own keys (3 on an Express middleware span, 10–30 on an HTTP span) beats looking up
  // all 24 analysed keys: most of those lookups miss, and each miss costs as much as a hit.
  for (const key in source) {
    if (!ANALYZED_ATTRIBUTE_KEYS.has(key)) continue;
    const v = source[key];
    if (v !== undefined && isScalar(v)) out[key] = v;
  }
  return out;
}

/**
 * Converts a finished OpenTelemetry span into rootspan's span model.
 *
 * - service name/version come from the resource (`service.name`, `service.version`);
 * - the parent is `parentSpanContext.spanId` (SDK 2.x and 3.x), else `parentSpanId` (SDK 1.x);
 * - times become epoch milliseconds; status becomes `'unset' | 'ok' | 'error'`;
 * - only {@link ANALYZED_ATTRIBUTES} with scalar values are kept, under their original keys (both the
 *   stable and the legacy HTTP/network conventions are in that list; the engine normalises them);
 * - the last `exception` event contributes `exception.type` / `exception.message` unless the span
 *   already has those attributes;
 * - a consumer span keeps its links (at most `MAX_LINKS`): the producer span that sent its message;
 * - a client or producer span without `peer.service` gets one from `peers` when its server address (or
 *   `address:port`) is listed there, so a callee reached by IP is named like one reached by host name.
 *
 * @param span a finished span as the SDK hands it to `onEnd` / `export` (either SDK line).
 * @param peers callee names by `address:port` or address (the `peers` option, as a Map).
 * @returns the engine span, or `undefined` when the span has no valid trace/span id (nothing to analyse).
 */
export function toEngineSpan(span: FinishedSpan, peers?: PeerNames): Span | undefined {
  const ctx = span.spanContext();
  const traceId = ctx?.traceId;
  const spanId = ctx?.spanId;
  return hasValidIds(traceId, spanId) ? mapSpan(span, traceId, spanId as string, peers) : undefined;
}

/** Whether a span context's ids name a span (the API's all-zero ids name none). */
export function hasValidIds(traceId: string | undefined, spanId: string | undefined): traceId is string {
  return !!traceId && !!spanId && traceId !== INVALID_TRACE_ID && spanId !== INVALID_SPAN_ID;
}

/** {@link toEngineSpan} for a span whose ids the caller has read and checked ({@link hasValidIds}) already. */
export function mapSpan(span: FinishedSpan, traceId: string, spanId: string, peers: PeerNames | undefined): Span {
  const identity = identityOf(span.resource);
  const attributes = analyzedAttributes(span.attributes);
  const events = span.events;
  if (events !== undefined && events.length > 0) addException(events, attributes);
  if (peers !== undefined && (span.kind === OtelSpanKind.CLIENT || span.kind === OtelSpanKind.PRODUCER) && attributes[PEER_SERVICE] === undefined) {
    const peer = namePeer(peers, attributes);
    if (peer !== undefined) attributes[PEER_SERVICE] = peer;
  }

  const status = span.status;
  const code = status?.code;
  const parent = parentIdOf(span);
  // Every field is always present (possibly undefined) so all spans share one object shape: V8 keeps the
  // engine's property accesses monomorphic.
  return {
    traceId,
    spanId,
    parentSpanId: parent && parent !== INVALID_SPAN_ID ? parent : undefined,
    service: identity.service,
    serviceVersion: identity.version,
    name: span.name,
    kind: KINDS[span.kind],
    startTime: hrTimeToMilliseconds(span.startTime),
    endTime: hrTimeToMilliseconds(span.endTime),
    status: code === SpanStatusCode.ERROR ? 'error' : code === SpanStatusCode.OK ? 'ok' : 'unset',
    statusMessage: status?.message ? status.message : undefined,
    attributes,
    links: span.kind === OtelSpanKind.CONSUMER ? linksOf(span.links) : undefined,
  };
}

/** A consumer span's links to valid span contexts, at most `MAX_LINKS`; undefined for none. */
function linksOf(links: FinishedSpan['links']): SpanLink[] | undefined {
  if (links === undefined || links.length === 0) return undefined;
  let out: SpanLink[] | undefined;
  const count = Math.min(links.length, MAX_LINKS);
  for (let i = 0; i < count; i++) {
    const ctx = links[i]?.context;
    if (ctx !== undefined && hasValidIds(ctx.traceId, ctx.spanId)) (out ??= []).push({ traceId: ctx.traceId, spanId: ctx.spanId });
  }
  return out;
}

/** The parent span's id: `parentSpanContext.spanId` (SDK 2.x and 3.x), else `parentSpanId` (SDK 1.x). */
export function parentIdOf(span: FinishedSpan): string | undefined {
  const ctx = span.parentSpanContext;
  return ctx !== undefined ? ctx.spanId : span.parentSpanId;
}

function addException(events: readonly SpanEvent[], attributes: Record<string, AttributeValue>): void {
  if (attributes[EXCEPTION_TYPE] !== undefined || attributes[EXCEPTION_MESSAGE] !== undefined) return;
  // The last exception is the one closest to how the span ended.
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.name !== 'exception') continue;
    const type = e.attributes?.[EXCEPTION_TYPE];
    const message = e.attributes?.[EXCEPTION_MESSAGE];
    if (isScalar(type)) attributes[EXCEPTION_TYPE] = type;
    if (isScalar(message)) attributes[EXCEPTION_MESSAGE] = message;
    return;
  }
}
