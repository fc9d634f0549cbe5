/**
 * JSON values read as bytes (jsonl-scan.ts): checked to be valid JSON and skipped, or their digits read as
 * numbers, without making strings or objects of them. Compact JSON only: white space between tokens is
 * not valid here.
 */
import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, COLON, COMMA, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from './json-bytes.js';

/** Not a value read here. */
export const NO = -1;
/** Nesting skipped at most (deeper: `JSON.parse`, whose limit is the stack's). */
const MAX_DEPTH = 64;

/** Past the JSON string whose opening quote is at `i - 1`, escapes checked; NO when it is not one. */
function skipString(b: Uint8Array, i: number): number {
  const n = b.length;
  for (; i < n; i++) {
    const c = b[i];
    if (c === QUOTE) return i + 1;
    if (c < 32) return NO;
    if (c === BACKSLASH) {
      const e = b[++i];
      if (e === 117) {
        for (let k = 1; k <= 4; k++) {
          const h = b[i + k];
          if (!((h >= 48 && h <= 57) || (h >= 97 && h <= 102) || (h >= 65 && h <= 70))) return NO;
        }
        i += 4;
      } else if (!(e === QUOTE || e === BACKSLASH || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116)) {
        return NO;
      }
    }
  }
  return NO;
}

export function skipDigits(b: Uint8Array, i: number): number {
  while (b[i] >= 48 && b[i] <= 57) i++;
  return i;
}

/** Past the JSON number at `i` (its grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`); NO when it is not one. */
export function skipNumber(b: Uint8Array, i: number): number {
  if (b[i] === 45) i++;
  // The integer part: a lone 0, or digits that do not start with 0.
  if (b[i] === 48) i++;
  else if (b[i] >= 49 && b[i] <= 57) i = skipDigits(b, i + 1);
  else return NO;
  if (b[i] === 46) {
    const from = i + 1;
    i = skipDigits(b, from);
    if (i === from) return NO;
  }
  if (b[i] === 101 || b[i] === 69) {
    i++;
    if (b[i] === 43 || b[i] === 45) i++;
    const from = i;
    i = skipDigits(b, from);
    if (i === from) return NO;
  }
  return i;
}

function skipWord(b: Uint8Array, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return NO;
  return i + word.length;
}

/** Past the JSON value at `i` (after any space), checked to be valid; NO when it is not (or nests too deep). */
export function skipValue(b: Uint8Array, i: number, depth = 0): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i + 1);
  if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
    if (depth === MAX_DEPTH) return NO;
    const close = c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
    i++;
    if (b[i] === close) return i + 1;
    for (;;) {
      if (c === OPEN_OBJECT) {
        if (b[i] !== QUOTE) return NO;
        i = skipString(b, i + 1);
        if (b[i] !== COLON) return NO;
        i++;
      }
      i = skipValue(b, i, depth + 1);
      if (i < 0) return NO;
      if (b[i] === close) return i + 1;
      if (b[i] !== COMMA) return NO;
      i++;
    }
  }
  if (c === 116) return skipWord(b, i, 'true');
  if (c === 102) return skipWord(b, i, 'false');
  if (c === 110) return skipWord(b, i, 'null');
  return skipNumber(b, i);
}

/** The value of `b[from..to)`, decimal digits (at most 15: exact), or NaN; as `digits` in convert.ts. */
export function digitsAt(b: Uint8Array, from: number, to: number): number {
  let x = 0;
  for (let i = from; i < to; i++) {
    const d = b[i] - 48;
    if (d < 0 || d > 9) return NaN;
    x = x * 10 + d;
  }
  return x;
}

/** Epoch ms of the decimal nanoseconds `b[from..to)`, as `nanosToMs` reads a string of 1 to 21 digits. */
export function nanosAt(b: Uint8Array, from: number, to: number): number {
  const n = to - from;
  if (n === 0 || n > 21) return NaN;
  if (n <= 15) return digitsAt(b, from, to) / 1e6;
  return digitsAt(b, from, to - 6) + digitsAt(b, to - 6, to) / 1e6;
}
