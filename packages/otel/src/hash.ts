/**
 * FNV-1a over every character of a span id, without allocating: the home slot of the id in rootspan's
 * open-addressing tables. Every character, so ids that differ only in part (a counting generator's, or
 * one that puts a timestamp first) still spread over the slots. 30 bits: a small integer, which V8 never
 * boxes.
 */
export function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h & 0x3fffffff;
}

/** The second hash the last {@link hashPair} computed. */
export let pairB = 0;

/**
 * Two 30-bit hashes of a span id in one pass: {@link hashId}'s (returned) and an independent second one (another
 * seed and multiplier, high bits folded into the low ones at every step), left in {@link pairB}. With the pair, a
 * table tells ids apart without keeping their strings.
 */
export function hashPair(id: string): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  pairB = b & 0x3fffffff;
  return a & 0x3fffffff;
}
