import { MAX_PATH_OPERATIONS } from '../limits.js';

/** One route a service's framework named (`http.route`), split for matching. */
interface Template {
  route: string;
  parts: readonly string[];
  /** Static segments: the more, the more specific the route. */
  statics: number;
  /** Where a wildcard takes the rest of the path (`*`, `{*rest}`, `[...slug]`, `:path*`), else -1. */
  rest: number;
}

/**
 * The routes one service's framework names, by method, for matching a request that failed before its router
 * named one (a load-shedding middleware's 503, an authentication check that could not reach its database).
 * Such a request is one of a route's: named by its raw path it was an operation of its own, with no baseline,
 * that learned the outage as its normal. At most {@link MAX_PATH_OPERATIONS} routes per service.
 */
export class RouteTemplates {
  private readonly byMethod = new Map<string, Template[]>();
  /** Interned `METHOD route` names already noted: a Set lookup per server span. */
  private readonly names = new Set<string>();

  /** Notes route `route` of `method`, whose interned operation name is `name`. */
  note(name: string, method: string, route: string): void {
    if (this.names.has(name) || this.names.size >= MAX_PATH_OPERATIONS) return;
    this.names.add(name);
    let list = this.byMethod.get(method);
    if (list === undefined) this.byMethod.set(method, (list = []));
    list.push(template(route));
  }

  /**
   * The route of `method` that `path` (a raw path; its query is ignored) is a request of: the most specific
   * that fits (most static segments; one without a wildcard before one with), undefined when none fits or two
   * fit equally well.
   */
  match(method: string, path: string): string | undefined {
    const list = this.byMethod.get(method);
    if (list === undefined) return undefined;
    const got = segments(path);
    let best: Template | undefined;
    let tied = false;
    for (const t of list) {
      if (!fits(t, got)) continue;
      const order = best === undefined ? 1 : compare(t, best);
      if (order > 0) {
        best = t;
        tied = false;
      } else if (order === 0) tied = true;
    }
    return tied ? undefined : best?.route;
  }
}

/** Whether `path` (a raw path; its query is ignored) is a request of route `route` (see {@link RouteTemplates}). */
export function fitsRoute(route: string, path: string): boolean {
  return fits(template(route), segments(path));
}

function template(route: string): Template {
  const parts = route.split('/');
  let statics = 0;
  let rest = -1;
  for (let i = 0; i < parts.length; i++) {
    if (isRest(parts[i])) {
      rest = i;
      break;
    }
    if (!isParam(parts[i])) statics++;
  }
  return { route, parts, statics, rest };
}

/** A path's segments, without its query or fragment; a trailing slash is the same route (routers are rarely strict about it). */
function segments(path: string): string[] {
  const q = path.search(/[?#]/);
  const got = (q >= 0 ? path.slice(0, q) : path).split('/');
  if (got.length > 2 && got[got.length - 1] === '') got.pop();
  return got;
}

function fits(t: Template, got: readonly string[]): boolean {
  const want = t.parts;
  const end = t.rest >= 0 ? t.rest : want.length;
  if (t.rest < 0 ? got.length !== want.length : got.length < end) return false;
  for (let i = 0; i < end; i++) {
    const w = want[i];
    if (isParam(w) ? got[i] === '' : w !== got[i]) return false;
  }
  return true;
}

/** Positive when `a` is the more specific route. */
function compare(a: Template, b: Template): number {
  if (a.statics !== b.statics) return a.statics - b.statics;
  return Number(a.rest < 0) - Number(b.rest < 0);
}

/** A segment any one segment fills: `:id` (Express, Koa, Fastify), `{id}` (OpenAPI, Spring, ASP.NET), `<id>` (Flask), `[id]` (Next.js). */
function isParam(segment: string): boolean {
  const c = segment.charCodeAt(0);
  return c === 58 /* : */ || c === 123 /* { */ || c === 60 /* < */ || c === 91 /* [ */;
}

/** A segment that takes the rest of the path: `*`, `*splat`, `{*rest}`, `[...slug]`, `[[...slug]]`, `:path*`, `<path:p>`. */
function isRest(segment: string): boolean {
  return (
    segment.charCodeAt(0) === 42 /* * */ ||
    segment.startsWith('{*') ||
    segment.startsWith('[...') ||
    segment.startsWith('[[...') ||
    segment.startsWith('<path:') ||
    (segment.charCodeAt(0) === 58 && (segment.endsWith('*') || segment.endsWith('+')))
  );
}
