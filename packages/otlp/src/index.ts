/**
 * @rootspan/otlp — OpenTelemetry OTLP trace data in and out of rootspan: OTLP/JSON and OTLP/protobuf
 * decoding into engine spans (streaming files of any size, in memory bounded by the largest record), and
 * OTLP/JSON encoding.
 */
export { decodeOtlpJson } from './json.js';
export { decodeOtlpProtobuf } from './protobuf.js';
export { decodeZipkinJson } from './foreign.js';
export { decodeZipkinProtobuf } from './zipkin-proto.js';
export { ZipkinState } from './zipkin-state.js';
export { encodeOtlpJson, msToNanosString } from './encode.js';
export type { OtlpJsonTraceRequest, OtlpJsonResourceSpans, OtlpJsonSpan, OtlpJsonKeyValue, OtlpJsonAnyValue } from './encode.js';
export { readOtlpFile, readOtlpStream, formatFromPath } from './reader.js';
export type { OtlpBatch, OtlpFormat, OtlpSource, ReadOtlpOptions } from './reader.js';
export { OtlpDecodeError, formatProblem, isSpanProblem } from './problems.js';
export type { DecodeProblem, DecodeResult } from './problems.js';
export { MAX_DESCRIBED_PROBLEMS, nanosToMs } from './convert.js';
export { DEFAULT_MAX_RECORD_BYTES } from './limits.js';
export { EndTimeWindow, EXPORT_HOLD_MS } from './reorder.js';
/** The engine's limits the decoders apply (re-exported: stated once, in `@rootspan/engine`). */
export { MAX_NAME_LENGTH, MAX_TIME_MS } from '@rootspan/engine';
