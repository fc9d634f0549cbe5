/**
 * @rootspan/otlp — OpenTelemetry OTLP trace data in and out of rootspan: OTLP/JSON and OTLP/protobuf
 * decoding into engine spans (streaming for files of any size), and OTLP/JSON encoding.
 */
export { decodeOtlpJson } from './json.js';
export { decodeOtlpProtobuf } from './protobuf.js';
export { encodeOtlpJson, msToNanosString } from './encode.js';
export type { OtlpJsonTraceRequest, OtlpJsonResourceSpans, OtlpJsonSpan, OtlpJsonKeyValue, OtlpJsonAnyValue } from './encode.js';
export { readOtlpFile, readOtlpStream, formatFromPath } from './reader.js';
export type { OtlpBatch, OtlpFormat, OtlpSource, ReadOtlpOptions } from './reader.js';
export { OtlpDecodeError, formatProblem } from './problems.js';
export type { DecodeProblem, DecodeResult } from './problems.js';
export { nanosToMs } from './convert.js';
