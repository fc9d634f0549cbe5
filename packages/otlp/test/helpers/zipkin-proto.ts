/**
 * Zipkin v2 protobuf reports for tests, encoded by protobufjs from openzipkin/zipkin-api's zipkin.proto3 in
 * full (annotations, debug and endpoint addresses included, which rootspan's decoder leaves out), from the
 * Zipkin v2 JSON spans they stand for.
 */
import protobuf from 'protobufjs';

const ZIPKIN_PROTO3 = `
syntax = "proto3";
package zipkin.proto3;
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
  repeated Annotation annotations = 10;
  map<string, string> tags = 11;
  bool debug = 12;
  bool shared = 13;
}
message Endpoint {
  string service_name = 1;
  bytes ipv4 = 2;
  bytes ipv6 = 3;
  int32 port = 4;
}
message Annotation {
  fixed64 timestamp = 1;
  string value = 2;
}
message ListOfSpans {
  repeated Span spans = 1;
}
`;

const list = protobuf.parse(ZIPKIN_PROTO3).root.lookupType('zipkin.proto3.ListOfSpans');
const KINDS: Record<string, number> = { CLIENT: 1, SERVER: 2, PRODUCER: 3, CONSUMER: 4 };

const bytes = (hex: unknown) => (typeof hex === 'string' ? Buffer.from(hex, 'hex') : undefined);

/** The `ListOfSpans` encoding of Zipkin v2 JSON spans, with an annotation, an address and a port on each span. */
export function zipkinProto(spans: ReadonlyArray<Record<string, unknown>>): Buffer {
  const message = list.fromObject({
    spans: spans.map((s) => ({
      traceId: bytes(s.traceId),
      parentId: bytes(s.parentId),
      id: bytes(s.id),
      kind: typeof s.kind === 'string' ? KINDS[s.kind] : 0,
      name: s.name,
      timestamp: s.timestamp,
      duration: s.duration,
      localEndpoint: { ...(s.localEndpoint as object), ipv4: Buffer.from([10, 0, 0, 7]), port: 8080 },
      remoteEndpoint: s.remoteEndpoint,
      annotations: [{ timestamp: s.timestamp, value: 'wr' }],
      tags: s.tags,
      debug: true,
      shared: s.shared,
    })),
  });
  return Buffer.from(list.encode(message).finish());
}
