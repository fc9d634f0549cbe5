/** Levels of an anonymous GraphQL operation's selections its name shows (`{ book { title author } }`). */
const NAME_DEPTH = 2;
/** An anonymous operation's selections are cut here (with `…`): long queries that share a start share a name. */
const NAME_MAX = 120;

/**
 * What names an anonymous GraphQL operation whose document is `source` (OpenTelemetry's `graphql.source`,
 * literals masked): its fields to {@link NAME_DEPTH} levels, without arguments or aliases —
 * `{ book { title author reviews } }` — so two different anonymous queries are two operations, and the
 * same query with other arguments is one. Undefined when no selection is found.
 */
export function anonymousSelections(source: string): string | undefined {
  const skeleton = selections(source);
  if (skeleton === undefined) return undefined;
  return skeleton.length <= NAME_MAX ? skeleton : `${skeleton.slice(0, NAME_MAX - 1)}…`;
}

/** The first operation's selection set, fields only, to {@link NAME_DEPTH} levels. */
function selections(source: string): string | undefined {
  const n = source.length;
  let i = 0;
  let parens = 0;
  // The operation's own selection set is its first `{` outside its variables' definitions (defaults may hold objects).
  for (; i < n; i++) {
    const c = source.charCodeAt(i);
    if (c === QUOTE) i = skipString(source, i);
    else if (c === HASH) i = skipComment(source, i);
    else if (c === OPEN_PAREN) parens++;
    else if (c === CLOSE_PAREN) parens--;
    else if (c === OPEN_BRACE && parens === 0) break;
  }
  if (i >= n) return undefined;
  const out: string[] = ['{'];
  let depth = 1;
  let afterSpread = false;
  for (i++; i < n && depth > 0; i++) {
    const c = source.charCodeAt(i);
    if (c === QUOTE) i = skipString(source, i);
    else if (c === HASH) i = skipComment(source, i);
    else if (c === OPEN_PAREN) parens++;
    else if (c === CLOSE_PAREN) parens--;
    else if (parens > 0) continue;
    else if (c === OPEN_BRACE) {
      if (++depth <= NAME_DEPTH) out.push('{');
    } else if (c === CLOSE_BRACE) {
      if (depth-- <= NAME_DEPTH) out.push('}');
    } else if (c === DOT) {
      afterSpread = true;
    } else if (isNameStart(c)) {
      let end = i + 1;
      while (end < n && isNameChar(source.charCodeAt(end))) end++;
      let word = source.slice(i, end);
      i = end - 1;
      // An alias (`first: book`) names what its field is called in the answer: the field is what ran.
      let next = end;
      while (next < n && isSpace(source.charCodeAt(next))) next++;
      if (!afterSpread && source.charCodeAt(next) === COLON) {
        next++;
        while (next < n && isSpace(source.charCodeAt(next))) next++;
        let fieldEnd = next;
        while (fieldEnd < n && isNameChar(source.charCodeAt(fieldEnd))) fieldEnd++;
        if (fieldEnd > next) {
          word = source.slice(next, fieldEnd);
          i = fieldEnd - 1;
        }
      }
      if (afterSpread) word = word === 'on' ? '... on' : `...${word}`;
      else if (out[out.length - 1] === '... on') word = `${out.pop() as string} ${word}`;
      afterSpread = false;
      if (depth <= NAME_DEPTH) out.push(word);
    }
  }
  if (out.length < 3) return undefined;
  // Whatever the source's own spacing: one space between tokens.
  return out.join(' ');
}

function skipString(s: string, at: number): number {
  // A block string `"""…"""`, else a string to its closing quote (escapes skipped).
  if (s.startsWith('"""', at)) {
    const end = s.indexOf('"""', at + 3);
    return end < 0 ? s.length : end + 2;
  }
  for (let i = at + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE || c === NEWLINE) return i;
  }
  return s.length;
}

function skipComment(s: string, at: number): number {
  const end = s.indexOf('\n', at);
  return end < 0 ? s.length : end;
}

function isNameStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === NEWLINE || c === 13 || c === 44;
}

const QUOTE = 34;
const HASH = 35;
const OPEN_PAREN = 40;
const CLOSE_PAREN = 41;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const DOT = 46;
const COLON = 58;
const BACKSLASH = 92;
const NEWLINE = 10;
