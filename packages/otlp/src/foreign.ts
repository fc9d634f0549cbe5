/**
 * Trace files from other systems, recognised by their shape where an OTLP/JSON document is expected:
 * Jaeger's JSON (what its UI downloads and its query API answers: `{ data: [{ traceID, spans, processes }] }`,
 * or one such trace) and Zipkin's v2 JSON (an array of spans with `localEndpoint`) or v1 JSON (spans with
 * `annotations`, each turned into the v2 spans it stands for). Their spans are
 * mapped to the engine's like OTLP spans: kind, error status, parent, the analysed tags, the resource's
 * `service.version` and instance (Jaeger's process tags); times are in microseconds.
 */
import { cutToNameLength, MAX_TIME_MS, type SpanKind, type SpanStatus } from '@rootspan/engine';
import { ATTRIBUTE_INDEX, instanceOf, isRecord, problem, SpanList, unknownResource, type ResourceInfo, type Sink } from './convert.js';
import type { DecodeResult } from './problems.js';
import { ZipkinState } from './zipkin-state.js';

type Obj = Record<string, unknown>;

/** Kind names (lower-cased) → kinds; a Map, so a name like `constructor` is no kind. */
const KINDS: ReadonlyMap<string, SpanKind> = new Map(['server', 'client', 'producer', 'consumer', 'internal'].map((k) => [k, k as SpanKind]));
const HEX_ID = /^[0-9a-fA-F]{1,32}$/;
/** Longest non-hex id taken as it is. */
const MAX_FOREIGN_ID = 64;

/**
 * Decodes `doc` into `sink` when it is a Jaeger or Zipkin document, and says whether it was: false leaves
 * it to the OTLP decoder. `first`: the index in the whole document of the first trace (Jaeger's `data`)
 * or span (Zipkin) of `doc`, a slice of it, for problems.
 */
export function decodeForeignInto(doc: unknown, sink: Sink, first = 0): boolean {
  if (isRecord(doc) && Array.isArray(doc.data) && doc.data.some(isJaegerTrace)) {
    doc.data.forEach((trace, i) => jaegerTrace(trace, `data[${first + i}]`, sink));
    return true;
  }
  if (isJaegerTrace(doc)) {
    jaegerTrace(doc, '', sink);
    return true;
  }
  // Zipkin: spans with a trace id and a local endpoint; a broken one among them is a problem of its own.
  if (Array.isArray(doc) && doc.some((s) => isRecord(s) && 'traceId' in s && isRecord(s.localEndpoint)) && !doc.some((s) => isRecord(s) && 'resourceSpans' in s)) {
    zipkinSpans(doc, sink, first);
    return true;
  }
  // Zipkin v1: spans with a trace id and annotations (`cs`, `sr`, …) instead of endpoints of their own.
  if (Array.isArray(doc) && doc.some(isZipkinV1) && !doc.some((s) => isRecord(s) && ('resourceSpans' in s || 'localEndpoint' in s))) {
    zipkinSpans(doc.flatMap((s) => (isZipkinV1(s) ? fromZipkinV1(s) : [s])), sink, first);
    return true;
  }
  return false;
}

function isJaegerTrace(t: unknown): t is Obj {
  return isRecord(t) && Array.isArray(t.spans) && (isRecord(t.processes) || t.spans.some((s) => isRecord(s) && isRecord(s.process)));
}

/**
 * An id: hex lowercased and left-padded with zeros to 16 or `digits` (Jaeger drops leading zeros), any
 * other short string as it is; undefined when absent, all zeros, or too long to be an id. A 128-bit id
 * whose upper half is zeros is the 64-bit id it pads (as Zipkin and Jaeger read it): 16 hex.
 */
function hexId(v: unknown, digits: 16 | 32): string | undefined {
  if (typeof v !== 'string' || v === '' || v.length > MAX_FOREIGN_ID || /^0+$/.test(v)) return undefined;
  if (!HEX_ID.test(v)) return v;
  const id = v.toLowerCase().padStart(v.length <= 16 ? 16 : digits, '0');
  return id.length === 32 && id.startsWith(ZERO_HALF) ? id.slice(16) : id;
}

const ZERO_HALF = '0000000000000000';

/** Epoch microseconds (a number, or a string of digits) as epoch ms; NaN when not. */
function microsToMs(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : NaN;
  return n > 0 ? n / 1000 : NaN;
}

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** A tag value as an attribute: numbers in strings (Zipkin's tags are all strings) become numbers for numeric keys. */
function tagValue(key: string, v: unknown): string | number | boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  if ((key.endsWith('status_code') || key.endsWith('.port')) && /^-?[0-9]+$/.test(v)) return Number(v);
  return cutToNameLength(v);
}

/** Zipkin's standard tags the engine reads under OpenTelemetry's name. */
const ZIPKIN_KEYS: ReadonlyMap<string, number | undefined> = new Map([['http.path', ATTRIBUTE_INDEX.get('url.path')]]);

/** Adds the analysed ones of `tags` to the span added last. */
function addTags(tags: Iterable<[string, unknown]>, sink: Sink): void {
  for (const [key, value] of tags) {
    const index = ATTRIBUTE_INDEX.get(key) ?? ZIPKIN_KEYS.get(key);
    if (index === undefined) continue;
    const v = tagValue(key, value);
    if (v !== undefined && v !== '') sink.out.attribute(index, v);
  }
}

/** Start, end, or the reason the span is skipped. */
function times(start: unknown, duration: unknown): [number, number] | string {
  const startMs = microsToMs(start);
  if (!Number.isFinite(startMs)) return 'missing or bad start time';
  const d = typeof duration === 'number' ? duration : typeof duration === 'string' && /^[0-9]+$/.test(duration) ? Number(duration) : duration === undefined ? 0 : NaN;
  if (!(d >= 0)) return 'bad duration';
  const endMs = startMs + d / 1000;
  if (endMs > MAX_TIME_MS) return 'time after year 9999';
  return [startMs, endMs];
}

// ---- Jaeger --------------------------------------------------------------------------------------------

/** Jaeger tags (`[{ key, type, value }]`) as entries. */
function jaegerTags(tags: unknown): Array<[string, unknown]> {
  if (!Array.isArray(tags)) return [];
  const out: Array<[string, unknown]> = [];
  for (const t of tags) if (isRecord(t) && typeof t.key === 'string') out.push([t.key, t.value]);
  return out;
}

function jaegerTrace(trace: unknown, where: string, sink: Sink): void {
  if (!isJaegerTrace(trace)) {
    problem(sink, `${where}: not a Jaeger trace (no spans and processes)`);
    return;
  }
  const resources = jaegerProcesses(trace.processes);
  const prefix = where === '' ? '' : `${where}.`;
  (trace.spans as unknown[]).forEach((raw, i) => jaegerSpan(raw, `${prefix}spans[${i}]`, trace.traceID, resources, sink));
}

/** A Jaeger trace's `processes` (by process id) as resources; none when it is no object. */
export function jaegerProcesses(processes: unknown): Map<string, ResourceInfo> {
  const resources = new Map<string, ResourceInfo>();
  if (isRecord(processes)) for (const [id, p] of Object.entries(processes)) if (isRecord(p)) resources.set(id, jaegerProcess(p));
  return resources;
}

/**
 * Decodes one element of a Jaeger trace's `spans` into `sink`, or reports why not (as `at`, its path).
 * `traceID`: the trace's, for a span without its own; `resources`: its processes ({@link jaegerProcesses}).
 */
export function jaegerSpan(raw: unknown, at: string, traceID: unknown, resources: ReadonlyMap<string, ResourceInfo>, sink: Sink): void {
  if (!isRecord(raw)) return problem(sink, `${at}: expected a span object`);
  const traceId = hexId(raw.traceID ?? traceID, 32);
  const spanId = hexId(raw.spanID, 16);
  if (traceId === undefined) return problem(sink, `${at}: missing or bad traceID`);
  if (spanId === undefined) return problem(sink, `${at}: missing or bad spanID`);
  const t = times(raw.startTime, raw.duration);
  if (typeof t === 'string') return problem(sink, `${at} (spanID ${spanId}): ${t}`);
  const refs = Array.isArray(raw.references) ? raw.references.filter(isRecord) : [];
  // The parent: the CHILD_OF reference in this trace, else the first one in it.
  const inTrace = refs.filter((r) => r.traceID === undefined || hexId(r.traceID, 32) === traceId);
  const parentRef = inTrace.find((r) => r.refType === 'CHILD_OF') ?? inTrace[0];
  const parent = parentRef !== undefined ? hexId(parentRef.spanID, 16) : hexId(raw.parentSpanID, 16);
  const tags = jaegerTags(raw.tags);
  const tag = (k: string) => tags.find(([key]) => key === k)?.[1];
  const kindTag = tag('span.kind');
  const otelStatus = tag('otel.status_code');
  const error = tag('error');
  const status: SpanStatus = otelStatus === 'ERROR' || error === true || error === 'true' ? 'error' : otelStatus === 'OK' ? 'ok' : 'unset';
  const message = tag('otel.status_description');
  const kind = typeof kindTag === 'string' ? KINDS.get(kindTag.toLowerCase()) : undefined;
  sink.out.add(
    traceId,
    spanId,
    parent === spanId ? undefined : parent,
    (typeof raw.processID === 'string' ? resources.get(raw.processID) : undefined) ?? (isRecord(raw.process) ? jaegerProcess(raw.process) : unknownResource()),
    typeof raw.operationName === 'string' ? cutToNameLength(raw.operationName) : '',
    kind,
    t[0],
    t[1],
    status,
    typeof message === 'string' && message !== '' ? cutToNameLength(message) : undefined,
  );
  addTags(tags, sink);
  addTags(exceptionFields(raw.logs), sink);
  // A consumer's other references (FOLLOWS_FROM, another trace's span) are its links, as OpenTelemetry's
  // Jaeger exporter writes a span's links; one without valid ids is skipped.
  if (kind === 'consumer') {
    for (const r of refs) {
      if (r === parentRef) continue;
      const linkTrace = r.traceID === undefined ? traceId : hexId(r.traceID, 32);
      const linkSpan = hexId(r.spanID, 16);
      if (linkTrace !== undefined && linkSpan !== undefined) sink.out.link(linkTrace, linkSpan);
    }
  }
}

/**
 * A Jaeger process: its service, and from its tags `service.version` and the instance: `service.instance.id`,
 * else the host (`hostname`, as Jaeger clients tag it, or `host.name`) and `pid` (or `process.pid`).
 */
function jaegerProcess(p: Obj): ResourceInfo {
  const tags = jaegerTags(p.tags);
  const tag = (...keys: string[]) => {
    for (const key of keys) {
      const v = tags.find(([k]) => k === key)?.[1];
      if (isScalar(v) && v !== '' && (typeof v !== 'number' || Number.isFinite(v))) return v;
    }
    return undefined;
  };
  const version = tag('service.version');
  return {
    service: typeof p.serviceName === 'string' && p.serviceName !== '' ? cutToNameLength(p.serviceName) : 'unknown_service',
    serviceVersion: typeof version === 'string' ? cutToNameLength(version) : undefined,
    instance: instanceOf(tag('service.instance.id'), tag('hostname', 'host.name'), tag('pid', 'process.pid')),
  };
}

/** `exception.type`/`exception.message` of the first log that is an exception event. */
function exceptionFields(logs: unknown): Array<[string, unknown]> {
  if (!Array.isArray(logs)) return [];
  for (const log of logs) {
    if (!isRecord(log)) continue;
    const fields = jaegerTags(log.fields);
    if (!fields.some(([k, v]) => k === 'event' && (v === 'exception' || v === 'error'))) continue;
    return fields.filter(([k]) => k === 'exception.type' || k === 'exception.message');
  }
  return [];
}

// ---- Zipkin --------------------------------------------------------------------------------------------

/**
 * Decodes a Zipkin v2 JSON request body (`POST /api/v2/spans`: an array of spans) into engine spans; a span
 * that cannot be read is skipped with a problem naming its index (`[3] (id …): bad duration`).
 *
 * @param doc - the parsed body
 * @param state - what to remember across bodies (a receiver's reports: one trace's services report apart,
 *   so its 128-bit and 64-bit id forms, and its B3 shared server spans, meet only across them); one per body
 *   when omitted
 * @returns the spans, and the problems; `undefined` when `doc` is not an array
 */
export function decodeZipkinJson(doc: unknown, state?: ZipkinState): DecodeResult | undefined {
  if (!Array.isArray(doc)) return undefined;
  const out = new SpanList();
  const sink: Sink = { out, problems: [], line: undefined, zipkin: state };
  zipkinSpans(doc, sink);
  return { spans: out.take(), problems: sink.problems };
}

/**
 * Notes the B3 shared server spans among `items` (Zipkin spans) in `sink`'s memory of the input: their
 * children find them in `items` and in the later slices of a document read in slices (children are
 * often written before the server span, which ends after them).
 */
export function noteSharedServers(items: unknown[], sink: Sink): void {
  const state = (sink.zipkin ??= new ZipkinState());
  for (const s of items) {
    if (!isRecord(s) || s.shared !== true) continue;
    const traceId = hexId(s.traceId, 32);
    const id = hexId(s.id, 16);
    if (traceId !== undefined && id !== undefined) state.noteShared(traceId, id, serviceOf(s));
  }
}

function zipkinSpans(items: unknown[], sink: Sink, first = 0): void {
  // Not a span object: reported like a span without ids.
  const spans = items.map((s) => (isRecord(s) ? s : {}));
  // Zipkin's B3 shared spans: a server side recorded under its client's id (`shared: true`). It gets an id
  // of its own, and its service's spans naming that id as their parent are re-parented to it.
  noteSharedServers(spans, sink);
  const state = sink.zipkin as ZipkinState;
  // A trace's 64-bit and 128-bit ids are one trace (zipkin-state.ts), throughout the input.
  const traceIds = state.traceIds;
  const serverId = (id: string) => `${id}5e`;
  spans.forEach((s, i) => {
    const at = `[${first + i}]`;
    const rawTraceId = hexId(s.traceId, 32);
    let spanId = hexId(s.id, 16);
    if (rawTraceId === undefined) return problem(sink, `${at}: missing or bad traceId`);
    if (spanId === undefined) return problem(sink, `${at}: missing or bad id`);
    const t = times(s.timestamp, s.duration);
    if (typeof t === 'string') return problem(sink, `${at} (id ${spanId}): ${t}`);
    const traceId = traceIds.join(rawTraceId);
    const service = serviceOf(s);
    let parent = hexId(s.parentId, 16);
    if (s.shared === true) {
      parent = spanId;
      spanId = serverId(spanId);
    } else if (parent !== undefined && state.sharedService(traceId, parent) === service) {
      parent = serverId(parent);
    }
    const tags: Array<[string, unknown]> = isRecord(s.tags) ? Object.entries(s.tags) : [];
    const remote = isRecord(s.remoteEndpoint) && typeof s.remoteEndpoint.serviceName === 'string' && s.remoteEndpoint.serviceName !== '' ? s.remoteEndpoint.serviceName : undefined;
    const errorTag = isRecord(s.tags) ? s.tags.error : undefined;
    sink.out.add(
      traceId,
      spanId,
      parent,
      { service, serviceVersion: undefined, instance: undefined },
      typeof s.name === 'string' ? cutToNameLength(s.name) : '',
      typeof s.kind === 'string' ? KINDS.get(s.kind.toLowerCase()) : undefined,
      t[0],
      t[1],
      errorTag !== undefined ? 'error' : 'unset',
      typeof errorTag === 'string' && errorTag !== '' && errorTag !== 'true' ? cutToNameLength(errorTag) : undefined,
    );
    addTags(tags, sink);
    // The callee as the caller named it: how the engine names an uninstrumented one.
    if (remote !== undefined && !sink.out.hasAttribute(PEER_SERVICE)) sink.out.attribute(PEER_SERVICE, cutToNameLength(remote));
  });
}

const PEER_SERVICE = ATTRIBUTE_INDEX.get('peer.service') as number;

function isZipkinV1(s: unknown): s is Obj {
  return isRecord(s) && 'traceId' in s && (Array.isArray(s.annotations) || Array.isArray(s.binaryAnnotations));
}

/** Binary annotations naming endpoints, not tags: server address, client address, local component. */
const V1_ADDRESSES = new Set(['sa', 'ca', 'lc']);

/**
 * A Zipkin v1 span as the v2 spans it stands for (as Zipkin's own converter does): its client side
 * (`cs`/`cr`, the callee from the `sa` address) and its server side (`sr`/`ss`, shared when both were
 * recorded under one id), or one local span (the `lc` component's service); binary annotations are its tags.
 */
function fromZipkinV1(s: Obj): Obj[] {
  const annotations = Array.isArray(s.annotations) ? s.annotations.filter(isRecord) : [];
  const binary = Array.isArray(s.binaryAnnotations) ? s.binaryAnnotations.filter(isRecord) : [];
  const at = (value: string) => annotations.find((a) => a.value === value);
  const address = (key: string) => binary.find((b) => b.key === key && isRecord(b.endpoint))?.endpoint;
  // Object.fromEntries defines its keys: a tag named `__proto__` stays a tag.
  // Values are strings (numbers and booleans in some writers); anything else is not a tag.
  const tags = Object.fromEntries(binary.filter((b) => typeof b.key === 'string' && !V1_ADDRESSES.has(b.key) && isScalar(b.value)).map((b) => [b.key as string, String(b.value)]));
  const common = { traceId: s.traceId, name: s.name, tags };
  const side = (kind: string, start: Obj | undefined, end: Obj | undefined, extra: Obj = {}): Obj => {
    const from = start?.timestamp ?? s.timestamp;
    const to = end?.timestamp;
    const duration = typeof from === 'number' && typeof to === 'number' ? to - from : s.duration;
    return { ...common, id: s.id, parentId: s.parentId, kind, timestamp: from, duration, localEndpoint: (start ?? end)?.endpoint, ...extra };
  };
  const out: Obj[] = [];
  const cs = at('cs');
  const cr = at('cr');
  if (cs !== undefined || cr !== undefined) {
    const callee = address('sa');
    out.push(side('CLIENT', cs, cr, callee !== undefined ? { remoteEndpoint: callee } : {}));
  }
  const sr = at('sr');
  const ss = at('ss');
  if (sr !== undefined || ss !== undefined) out.push(side('SERVER', sr, ss, out.length > 0 ? { shared: true } : {}));
  if (out.length === 0) {
    // A message sent or received (`ms`/`mr`), else local work: no kind (an empty one names none).
    const ms = at('ms');
    const mr = at('mr');
    const endpoint = address('lc') ?? annotations.find((a) => isRecord(a.endpoint))?.endpoint;
    out.push(side(ms !== undefined ? 'PRODUCER' : mr !== undefined ? 'CONSUMER' : '', ms ?? mr, undefined, { localEndpoint: endpoint }));
  }
  return out;
}

function serviceOf(s: Obj): string {
  const name = isRecord(s.localEndpoint) ? s.localEndpoint.serviceName : undefined;
  return typeof name === 'string' && name !== '' ? cutToNameLength(name) : 'unknown_service';
}
