/** snappyjs 0.7 (test-only): a JavaScript port of Google's Snappy block compressor. */
declare module 'snappyjs' {
  export function compress(input: Uint8Array): Uint8Array;
  export function uncompress(input: Uint8Array): Uint8Array;
}
