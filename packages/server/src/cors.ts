import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Cross-origin requests from web pages: a browser app exporting its own spans (the OpenTelemetry web SDK's
 * OTLP/HTTP exporter) to `/v1/traces`, or a dashboard on another origin reading `/aiops/*`. As the
 * Collector's OTLP/HTTP receiver `cors` settings. Off unless origins are listed.
 */
export interface CorsOptions {
  /**
   * Origins allowed (`https://app.example.com`), `*` for any, or with one `*` inside for a family
   * (`https://*.example.com`). Compared with the request's `Origin` header as written, without a path.
   */
  allowedOrigins: string[];
  /**
   * Request headers allowed beyond the ones a browser exporter sends anyway (`Content-Type`,
   * `Content-Encoding`, `Accept`, `Accept-Encoding`, `X-Requested-With`), e.g. `Authorization` for a bearer
   * token, or `*` for any. Case does not matter.
   */
  allowedHeaders?: string[];
  /** How long a browser may cache a preflight's answer, in seconds [not said: the browser's default]. */
  maxAgeSeconds?: number;
}

const DEFAULT_HEADERS = ['content-type', 'content-encoding', 'accept', 'accept-encoding', 'x-requested-with'];
/** Every endpoint reads with GET or writes with POST (acknowledge, resolve, analyze, spans). */
const METHODS = new Set(['GET', 'POST', 'HEAD']);
/** Read by a browser exporter to back off (429, 503); not exposed to scripts otherwise. */
const EXPOSED = 'Retry-After';

/** Validates `cors` (a TypeError names the bad field); undefined when not given. */
export function checkCors(v: unknown): CorsOptions | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError('option cors must be an object');
  const o = v as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== 'allowedOrigins' && key !== 'allowedHeaders' && key !== 'maxAgeSeconds') throw new TypeError(`unknown option cors.${key} (known: allowedOrigins, allowedHeaders, maxAgeSeconds)`);
  }
  const strings = (name: string, list: unknown): string[] => {
    if (!Array.isArray(list) || list.some((s) => typeof s !== 'string' || s === '')) throw new TypeError(`option cors.${name} must be an array of non-empty strings`);
    return list as string[];
  };
  const allowedOrigins = strings('allowedOrigins', o.allowedOrigins);
  for (const origin of allowedOrigins) {
    if (origin.split('*').length > 2) throw new TypeError(`option cors.allowedOrigins: '${origin}' has more than one '*'`);
  }
  const out: CorsOptions = { allowedOrigins };
  if (o.allowedHeaders !== undefined) out.allowedHeaders = strings('allowedHeaders', o.allowedHeaders);
  if (o.maxAgeSeconds !== undefined) {
    if (typeof o.maxAgeSeconds !== 'number' || !Number.isInteger(o.maxAgeSeconds) || o.maxAgeSeconds < 0) {
      throw new TypeError(`option cors.maxAgeSeconds must be an integer >= 0, got ${JSON.stringify(o.maxAgeSeconds)}`);
    }
    out.maxAgeSeconds = o.maxAgeSeconds;
  }
  return out;
}

/** Answers preflights and marks answers to allowed origins; built from checked {@link CorsOptions}. */
export class Cors {
  private readonly exact = new Set<string>();
  private readonly patterns: Array<[prefix: string, suffix: string]> = [];
  private readonly anyOrigin: boolean;
  private readonly headers: ReadonlySet<string>;
  private readonly anyHeader: boolean;

  constructor(private readonly options: CorsOptions) {
    for (const origin of options.allowedOrigins) {
      const star = origin.indexOf('*');
      if (star < 0) this.exact.add(origin.toLowerCase());
      else if (origin !== '*') this.patterns.push([origin.slice(0, star).toLowerCase(), origin.slice(star + 1).toLowerCase()]);
    }
    this.anyOrigin = options.allowedOrigins.includes('*');
    const extra = (options.allowedHeaders ?? []).map((h) => h.toLowerCase());
    this.anyHeader = extra.includes('*');
    this.headers = new Set([...DEFAULT_HEADERS, ...extra]);
  }

  /**
   * A preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered here, 204, with the
   * permissions when its origin, method and headers are allowed and without them otherwise (the browser
   * then refuses the request): true. Any other request from an allowed origin gets the headers that let the
   * page read its answer: false, the caller goes on.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    const allowed = typeof origin === 'string' && this.allows(origin);
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (!preflight) {
      if (allowed) {
        res.setHeader('access-control-allow-origin', origin);
        res.setHeader('access-control-allow-credentials', 'true');
        res.setHeader('access-control-expose-headers', EXPOSED);
        res.setHeader('vary', 'Origin');
      }
      return false;
    }
    req.resume();
    const out: Record<string, string | number> = { vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers', 'content-length': 0 };
    const method = String(req.headers['access-control-request-method']).toUpperCase();
    const requested = listed(req.headers['access-control-request-headers']);
    if (allowed && METHODS.has(method) && (this.anyHeader || requested.every((h) => this.headers.has(h)))) {
      out['access-control-allow-origin'] = origin;
      // `navigator.sendBeacon` (the OpenTelemetry web exporter without custom headers) sends with
      // credentials: the browser drops its request unless they are allowed. rootspan reads no cookie.
      out['access-control-allow-credentials'] = 'true';
      out['access-control-allow-methods'] = method;
      if (requested.length > 0) out['access-control-allow-headers'] = requested.join(', ');
      if (this.options.maxAgeSeconds !== undefined) out['access-control-max-age'] = this.options.maxAgeSeconds;
    }
    res.writeHead(204, out);
    res.end();
    return true;
  }

  private allows(origin: string): boolean {
    if (this.anyOrigin) return true;
    const o = origin.toLowerCase();
    if (this.exact.has(o)) return true;
    for (const [prefix, suffix] of this.patterns) {
      if (o.length > prefix.length + suffix.length && o.startsWith(prefix) && o.endsWith(suffix)) return true;
    }
    return false;
  }
}

/** A comma-separated header list, lower-cased, blanks dropped. */
function listed(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v.join(',') : v)
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
}
