/** The bytes of JSON's structure, for the code that reads JSON text as bytes. */
export const QUOTE = 34;
export const BACKSLASH = 92;
export const NEWLINE = 10;
export const COMMA = 44;
export const COLON = 58;
export const OPEN_ARRAY = 91;
export const CLOSE_ARRAY = 93;
export const OPEN_OBJECT = 123;
export const CLOSE_OBJECT = 125;

/** Whether byte `c` is JSON white space (space, tab, CR, LF). */
export function isSpace(c: number): boolean {
  return c === 32 || c === NEWLINE || c === 13 || c === 9;
}
