import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** What a request without the right token is told (401), on every path. */
export const UNAUTHORIZED_MESSAGE = 'missing or wrong bearer token (Authorization: Bearer <token>)';
/** The headers of that answer; the connection closes (the client's next try should not reuse it). */
export const UNAUTHORIZED_HEADERS: Readonly<Record<string, string>> = { 'www-authenticate': 'Bearer realm="rootspan"', connection: 'close' };

/** Digests compare in constant time whatever the lengths of the token and the guess. */
const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Checks `Authorization: Bearer <token>` against a set of accepted tokens, in constant time (the guess is
 * compared with every token, so timing tells neither which one nor how much of it matched).
 */
export class BearerAuth {
  private readonly digests: Buffer[];

  constructor(tokens: ReadonlyArray<string | undefined>) {
    this.digests = tokens.filter((t): t is string => t !== undefined && t !== '').map(digest);
  }

  /** Whether any token is required at all. */
  get enabled(): boolean {
    return this.digests.length > 0;
  }

  allows(headers: IncomingHttpHeaders): boolean {
    if (!this.enabled) return true;
    const header = headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    const guess = digest(match === null ? '' : match[1]);
    let ok = false;
    for (const d of this.digests) ok = timingSafeEqual(d, guess) || ok;
    return ok && match !== null;
  }
}
