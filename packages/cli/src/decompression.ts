import type { DecodeProblem } from '@rootspan/otlp';

/**
 * Whether `problem` is the decompressor's: a gzip or zstd input that does not decompress whole (cut off,
 * corrupt, a frame or trailing bytes that do not inflate). How much was lost with it no one can tell, so a
 * report on the rest could pass a gate the whole would fail. `@rootspan/otlp` reports these without a line,
 * as `gzip: …` or `zstd: …` (its reader tests hold the messages); no record's problem reads so.
 */
export function isDecompressionProblem(problem: DecodeProblem): boolean {
  return problem.line === undefined && /^(?:gzip|zstd): /.test(problem.message);
}
