/**
 * FNV-1a over every character of a span id, without allocating: the home slot of the id in rootspan's
 * open-addressing tables. Every character, so ids that differ only in part (a counting generator's, or
 * one that puts a timestamp first) still spread over the slots.
 */
export function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h | 0;
}
