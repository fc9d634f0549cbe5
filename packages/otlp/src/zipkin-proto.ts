import type protobuf from 'protobufjs';
import { toInt } from './convert.js';
import { decodeZipkinJson } from './foreign.js';
import { MAX_REQUEST_MESSAGES } from './limits.js';
import type { DecodeResult } from './problems.js';
import type { ZipkinState } from './zipkin-state.js';
import { protobufjs } from './protobuf.js';

/*
 * Zipkin v2's protobuf encoding (openzipkin/zipkin-api zipkin.proto3), the fields rootspan reads: ids,
 * kind, name, times, the two endpoints' service names, tags and `shared`. Annotations, `debug` and the
 * endpoints' addresses are left out (protobufjs skips unknown fields).
 */
const ZIPKIN = `
syntax = "proto3";
package zipkin.proto3;
message Endpoint {
  string service_name = 1;
}
message Span {
  bytes trace_id = 1;
  bytes parent_id = 2;
  bytes id = 3;
  enum Kind {
    SPAN_KIND_UNSPECIFIED = 0;
    CLIENT = 1;
    SERVER = 2;
    PRODUCER = 3;
    CONSUMER = 4;
  }
  Kind kind = 4;
  string name = 5;
  fixed64 timestamp = 6;
  uint64 duration = 7;
  Endpoint local_endpoint = 8;
  Endpoint remote_endpoint = 9;
  map<string, string> tags = 11;
  bool shared = 13;
}
message ListOfSpans {
  repeated Span spans = 1;
}
`;

/** Zipkin's JSON names of the proto `Kind` values, by number. */
const KIND_NAMES = [undefined, 'CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER'];

let listOfSpans: protobuf.Type | undefined;

function listType(): protobuf.Type {
  if (listOfSpans === undefined) {
    const pb = protobufjs();
    listOfSpans = pb.parse(ZIPKIN, new pb.Root()).root.lookupType('zipkin.proto3.ListOfSpans');
  }
  return listOfSpans;
}

interface ProtoEndpoint {
  serviceName?: string;
}

interface ProtoSpan {
  traceId?: Uint8Array;
  parentId?: Uint8Array;
  id?: Uint8Array;
  kind?: number;
  name?: string;
  timestamp?: unknown;
  duration?: unknown;
  localEndpoint?: ProtoEndpoint | null;
  remoteEndpoint?: ProtoEndpoint | null;
  tags?: Record<string, string>;
  shared?: boolean;
}

/**
 * Decodes a Zipkin v2 protobuf request body (`POST /api/v2/spans` as `application/x-protobuf`: a
 * `ListOfSpans`, as zipkin-go's reporter and the Collector's `zipkin` exporter with `format: proto` send)
 * into engine spans, exactly as the same spans in Zipkin's JSON ({@link decodeZipkinJson}).
 *
 * @param bytes - the serialised `ListOfSpans`
 * @param state - what to remember across bodies, as for {@link decodeZipkinJson}
 * @returns the spans and the problems (a span that cannot be read is skipped and named by its index);
 *   `undefined` when the body is not a protobuf message (broken framing)
 */
export function decodeZipkinProtobuf(bytes: Uint8Array, state?: ZipkinState): DecodeResult | undefined {
  // Decoding materialises every span: count them first (see MAX_REQUEST_MESSAGES).
  if (topLevelFields(bytes, MAX_REQUEST_MESSAGES) > MAX_REQUEST_MESSAGES) {
    return { spans: [], problems: [{ message: `more than ${MAX_REQUEST_MESSAGES} spans in one request` }] };
  }
  let list: { spans?: ProtoSpan[] };
  try {
    list = listType().decode(bytes) as unknown as { spans?: ProtoSpan[] };
  } catch {
    return undefined;
  }
  return decodeZipkinJson((list.spans ?? []).map(asJson), state);
}

/**
 * How many length-delimited top-level fields `bytes` holds, counting stops past `max` (and at anything
 * that is not one: the decoder reports that).
 */
function topLevelFields(bytes: Uint8Array, max: number): number {
  const reader = protobufjs().Reader.create(bytes);
  let n = 0;
  try {
    while (reader.pos < reader.len && n <= max && (reader.uint32() & 7) === 2) {
      reader.skipType(2);
      n++;
    }
  } catch {
    // Past the end: broken framing, for the decoder to report.
  }
  return n;
}

/** A decoded proto span as the Zipkin v2 JSON span it encodes (hex ids, µs times as numbers). */
function asJson(s: ProtoSpan): Record<string, unknown> {
  return {
    traceId: hex(s.traceId),
    parentId: hex(s.parentId),
    id: hex(s.id),
    kind: KIND_NAMES[s.kind ?? 0],
    name: s.name,
    timestamp: toInt(s.timestamp),
    duration: toInt(s.duration),
    localEndpoint: s.localEndpoint ?? undefined,
    remoteEndpoint: s.remoteEndpoint ?? undefined,
    tags: s.tags,
    shared: s.shared === true ? true : undefined,
  };
}

function hex(b: Uint8Array | undefined): string | undefined {
  return b === undefined || b.length === 0 ? undefined : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
