/** The bytes of JSON's structure, for the readers that scan JSON text as bytes (json-scan.ts, document-stream.ts, jsonl-scan.ts). */
export const QUOTE = 34;
export const BACKSLASH = 92;
export const NEWLINE = 10;
export const COMMA = 44;
export const COLON = 58;
export const OPEN_ARRAY = 91;
export const CLOSE_ARRAY = 93;
export const OPEN_OBJECT = 123;
export const CLOSE_OBJECT = 125;
