/**
 * Control characters: C0 and C1 controls, DEL, the bidi embeddings, overrides and isolates, and the
 * Unicode line and paragraph separators. Trace data is anyone's, and a terminal acts on these: a service
 * named `pay\x1b[2J` clears the screen, `\n[CRITICAL] …` prints a line no incident made, U+202E shows
 * text reversed.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `text` with every control character shown escaped (`\n`, `\x1b`, `\u202e`), for the human report and the
 * lines on stderr. The rest is kept as is, a backslash too, so escaping twice changes nothing.
 *
 * @param text - text that may hold input data (names, messages, file names)
 */
export function printable(text: string): string {
  return text.replace(CONTROL, escape);
}

function escape(c: string): string {
  const code = c.charCodeAt(0);
  return NAMED[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}
