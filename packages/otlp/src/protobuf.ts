import { createRequire } from 'node:module';
import type protobuf from 'protobufjs';
import { MAX_LINKS } from '@rootspan/engine';
import { decodeId, SpanList, type Sink } from './convert.js';
import { DEFAULT_MAX_RECORD_BYTES, MAX_REQUEST_MESSAGES, MAX_REQUEST_SPAN_FIELDS } from './limits.js';
import { walkBuffer } from './protobuf-walk.js';
import type { DecodeResult } from './problems.js';

/*
 * The messages rootspan decodes with protobufjs, one `Resource` or one `Span` at a time (the request,
 * `ResourceSpans` and `ScopeSpans` around them are walked by hand in protobuf-walk.ts: field 1
 * `resource_spans`; fields 1 `resource`, 2 `scope_spans` and 1000 `instrumentation_library_spans`, kept
 * for old exporters; field 2 `spans`). Field numbers are those of opentelemetry-proto
 * (common/v1/common.proto, resource/v1/resource.proto, trace/v1/trace.proto). Fields rootspan never
 * reads are left out on purpose: protobufjs skips unknown fields without materialising them, which makes
 * decoding cheaper. Left out: AnyValue array_value (5), kvlist_value (6), bytes_value (7); Resource
 * dropped_attributes_count (2), entity_refs (3); Span trace_state (3), flags (16), dropped_*_count
 * (10, 12, 14); Event dropped_attributes_count (4); Link trace_state (3), attributes (4),
 * dropped_attributes_count (5), flags (6).
 * Span links (13) are not in `Span` either: only a consumer span's are kept, so only a consumer span's
 * bytes are read again for them, each link decoded on its own, so a broken one costs only itself
 * ({@link linksOf}).
 * Field names become lowerCamelCase, the same names as in OTLP/JSON, so one decoder maps both.
 */
const COMMON = `
syntax = "proto3";
package opentelemetry.proto.common.v1;
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
  }
}
message KeyValue {
  string key = 1;
  AnyValue value = 2;
}
`;

const RESOURCE = `
syntax = "proto3";
package opentelemetry.proto.resource.v1;
message Resource {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 1;
}
`;

const TRACE = `
syntax = "proto3";
package opentelemetry.proto.trace.v1;
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  bytes parent_span_id = 4;
  string name = 5;
  enum SpanKind {
    SPAN_KIND_UNSPECIFIED = 0;
    SPAN_KIND_INTERNAL = 1;
    SPAN_KIND_SERVER = 2;
    SPAN_KIND_CLIENT = 3;
    SPAN_KIND_PRODUCER = 4;
    SPAN_KIND_CONSUMER = 5;
  }
  SpanKind kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 9;
  message Event {
    fixed64 time_unix_nano = 1;
    string name = 2;
    repeated opentelemetry.proto.common.v1.KeyValue attributes = 3;
  }
  repeated Event events = 11;
  Status status = 15;
}
message Link {
  bytes trace_id = 1;
  bytes span_id = 2;
}
message Status {
  string message = 2;
  enum StatusCode {
    STATUS_CODE_UNSET = 0;
    STATUS_CODE_OK = 1;
    STATUS_CODE_ERROR = 2;
  }
  StatusCode code = 3;
}
`;

/** The message types rootspan decodes with protobufjs. */
export interface OtlpTypes {
  resource: protobuf.Type;
  span: protobuf.Type;
  /** A `Span.Link`, decoded by {@link linksOf}. */
  link: protobuf.Type;
}

let types: OtlpTypes | undefined;

/**
 * protobufjs, loaded on first use by whoever decodes protobuf: it costs ~50 ms to load, paid by every JSON
 * read otherwise (and by the decoding worker before its first batch).
 */
export function protobufjs(): typeof import('protobufjs') {
  return createRequire(import.meta.url)('protobufjs') as typeof import('protobufjs');
}

/** The OTLP message types, built on first use (parsing the schema takes a few ms). */
export function otlpTypes(): OtlpTypes {
  if (types === undefined) {
    const protobuf = protobufjs();
    const root = new protobuf.Root();
    for (const source of [COMMON, RESOURCE, TRACE]) protobuf.parse(source, root);
    root.resolveAll();
    types = {
      resource: root.lookupType('opentelemetry.proto.resource.v1.Resource'),
      span: root.lookupType('opentelemetry.proto.trace.v1.Span'),
      link: root.lookupType('opentelemetry.proto.trace.v1.Link'),
    };
  }
  return types;
}

/** The key of `Span.links`: field 13, length-delimited. */
const LINKS_KEY = 13 * 8 + 2;

/**
 * The `links` of the `Span` whose bytes are `record` (decoded as one already, so its fields are framed
 * right), as `Link` messages (ids as bytes), for the decoder to read as it reads OTLP/JSON's: the first
 * `MAX_LINKS` with ids, as the decoder keeps; undefined when it has none. A link that does not decode, has
 * no ids, or a field 13 of another wire type, is left out: a span of millions of empty links (two bytes
 * each) costs a pass over its bytes, and keeps no more than `MAX_LINKS` of them.
 */
export function linksOf(record: Uint8Array): unknown[] | undefined {
  const { link } = otlpTypes();
  const reader = protobufjs().Reader.create(record);
  let links: unknown[] | undefined;
  try {
    while (reader.pos < reader.len) {
      const key = reader.uint32();
      if (key !== LINKS_KEY) {
        reader.skipType(key & 7);
        continue;
      }
      const bytes = reader.bytes();
      let decoded: { traceId?: unknown; spanId?: unknown };
      try {
        decoded = link.decode(bytes) as typeof decoded;
      } catch {
        // Only this link is lost.
        continue;
      }
      if (typeof decodeId(decoded.traceId, 16) !== 'string' || typeof decodeId(decoded.spanId, 8) !== 'string') continue;
      (links ??= []).push(decoded);
      if (links.length === MAX_LINKS) break;
    }
  } catch {
    // Not reached for a record that decoded as a span; the links read so far are kept.
  }
  return links;
}

/**
 * Decodes an OTLP/protobuf `ExportTraceServiceRequest` (the body of an OTLP/HTTP `application/x-protobuf`
 * POST, or a `.pb` file holding one request; `TracesData` has the same encoding) into engine spans.
 *
 * The span mapping is the one of {@link decodeOtlpJson}. Damage is contained: a span or resource that
 * does not decode, or is larger than the {@link DEFAULT_MAX_RECORD_BYTES} record limit, is skipped and
 * reported, and the spans around it are kept; broken framing (a bad tag or length, a cut-off body) ends
 * the decode with one problem, keeping the spans before it.
 *
 * @param bytes - the serialised request
 * @returns the decoded spans and the problems found (without line numbers)
 */
export function decodeOtlpProtobuf(bytes: Uint8Array): DecodeResult {
  const out = new SpanList();
  const sink: Sink = { out, problems: [], line: undefined };
  // A Buffer view (no copy) makes protobufjs use its Buffer reader: ids come out as Buffers (native hex)
  // and strings are decoded natively.
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  walkBuffer(buf, {
    sink,
    maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
    maxMessages: MAX_REQUEST_MESSAGES,
    maxSpanFields: MAX_REQUEST_SPAN_FIELDS,
    report: (message) => sink.problems.push({ message }),
    check: () => undefined,
    full: () => false,
  });
  return { spans: out.take(), problems: sink.problems };
}
