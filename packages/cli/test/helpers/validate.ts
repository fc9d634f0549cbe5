/**
 * A hand-written validator for the `--json` report, written from the spec rather than from
 * `report.ts`, so the tests catch the CLI drifting from the documented shape:
 *
 * `{ summary: { spans, traces, services: [...], from: ISO, to: ISO, dropped }, incidents: [ { id,
 * status: active|acknowledged|resolved, severity: low|medium|high|critical, title, openedAt: ISO,
 * resolvedAt: ISO|null, rootCause: { service, operation: string|null, kind: latency|errors|timeout|traffic,
 * confidence 0..1, explanation }, candidates: [ { service, operation|null, score } ] (best first),
 * affected: [ { service, operation } ], anomalies: [ { service, operation, kind, at: ISO, observed,
 * expected, severity } ], traceIds: [...] } ] }` (more fields are fine).
 */

const STATUSES = ['active', 'acknowledged', 'resolved'];
const SEVERITIES = ['low', 'medium', 'high', 'critical'];
const ROOT_KINDS = ['latency', 'errors', 'timeout', 'traffic'];
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

type Obj = Record<string, unknown>;

/** Every way `value` departs from the documented shape, as `path: problem` lines; empty when it conforms. */
export function validateReport(value: unknown): string[] {
  const errors: string[] = [];
  const fail = (path: string, what: string, v: unknown): void => {
    errors.push(`${path}: ${what}, got ${JSON.stringify(v)?.slice(0, 80)}`);
  };
  const isObj = (path: string, v: unknown): v is Obj => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return true;
    fail(path, 'expected an object', v);
    return false;
  };
  const isArr = (path: string, v: unknown): v is unknown[] => {
    if (Array.isArray(v)) return true;
    fail(path, 'expected an array', v);
    return false;
  };
  const count = (path: string, v: unknown): void => {
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= 0)) fail(path, 'expected a non-negative integer', v);
  };
  const num = (path: string, v: unknown): void => {
    if (!(typeof v === 'number' && Number.isFinite(v))) fail(path, 'expected a finite number', v);
  };
  const str = (path: string, v: unknown): void => {
    if (!(typeof v === 'string' && v.length > 0)) fail(path, 'expected a non-empty string', v);
  };
  const strOrNull = (path: string, v: unknown): void => {
    if (v !== null) str(path, v);
  };
  const oneOf = (path: string, v: unknown, allowed: string[]): void => {
    if (!(typeof v === 'string' && allowed.includes(v))) fail(path, `expected one of ${allowed.join('|')}`, v);
  };
  const iso = (path: string, v: unknown): number => {
    if (typeof v === 'string' && ISO_RE.test(v) && !Number.isNaN(Date.parse(v))) return Date.parse(v);
    fail(path, 'expected an ISO 8601 UTC time', v);
    return NaN;
  };
  const ref = (path: string, v: unknown): v is Obj => {
    if (!isObj(path, v)) return false;
    str(`${path}.service`, v.service);
    strOrNull(`${path}.operation`, v.operation);
    return true;
  };

  if (!isObj('report', value)) return errors;
  const s = value.summary;
  if (isObj('summary', s)) {
    count('summary.spans', s.spans);
    count('summary.traces', s.traces);
    count('summary.dropped', s.dropped);
    if (s.operations !== undefined && isObj('summary.operations', s.operations)) {
      for (const key of ['tracked', 'overflowRequests', 'overflowCalls', 'evicted', 'messagesForgotten']) count(`summary.operations.${key}`, s.operations[key]);
    }
    if (isArr('summary.services', s.services)) {
      s.services.forEach((v, i) => str(`summary.services[${i}]`, v));
      if (new Set(s.services).size !== s.services.length) fail('summary.services', 'expected no duplicates', s.services);
    }
    if (s.from === null && s.to === null && typeof s.spans === 'number' && typeof s.dropped === 'number' && s.dropped >= s.spans) {
      // No span analysed (every one dropped, or none), no time range: the only case where from/to may be null.
    } else {
      const from = iso('summary.from', s.from);
      const to = iso('summary.to', s.to);
      if (from > to) fail('summary.from', 'expected from <= to', [s.from, s.to]);
    }
    if (typeof s.traces === 'number' && typeof s.spans === 'number' && s.traces > s.spans) fail('summary.traces', 'more traces than spans', s.traces);
  }
  if (!isArr('incidents', value.incidents)) return errors;
  const ids = new Set<unknown>();
  value.incidents.forEach((inc, i) => {
    const p = `incidents[${i}]`;
    if (!isObj(p, inc)) return;
    str(`${p}.id`, inc.id);
    if (ids.has(inc.id)) fail(`${p}.id`, 'duplicate id', inc.id);
    ids.add(inc.id);
    oneOf(`${p}.status`, inc.status, STATUSES);
    oneOf(`${p}.severity`, inc.severity, SEVERITIES);
    str(`${p}.title`, inc.title);
    const opened = iso(`${p}.openedAt`, inc.openedAt);
    if (inc.resolvedAt !== null) {
      const resolved = iso(`${p}.resolvedAt`, inc.resolvedAt);
      if (resolved < opened) fail(`${p}.resolvedAt`, 'expected >= openedAt', inc.resolvedAt);
    }
    if ((inc.status === 'resolved') !== (inc.resolvedAt !== null)) fail(`${p}.resolvedAt`, `expected a time exactly when status is resolved (status ${String(inc.status)})`, inc.resolvedAt);
    const rc = inc.rootCause;
    if (ref(`${p}.rootCause`, rc)) {
      oneOf(`${p}.rootCause.kind`, rc.kind, ROOT_KINDS);
      if (!(typeof rc.confidence === 'number' && rc.confidence >= 0 && rc.confidence <= 1)) fail(`${p}.rootCause.confidence`, 'expected a number in [0, 1]', rc.confidence);
      str(`${p}.rootCause.explanation`, rc.explanation);
    }
    if (isArr(`${p}.candidates`, inc.candidates)) {
      let prev = Infinity;
      inc.candidates.forEach((c, j) => {
        if (!ref(`${p}.candidates[${j}]`, c)) return;
        num(`${p}.candidates[${j}].score`, c.score);
        if (typeof c.score === 'number') {
          if (c.score > prev) fail(`${p}.candidates[${j}].score`, `expected best first (previous ${prev})`, c.score);
          prev = c.score;
        }
      });
    }
    if (isArr(`${p}.affected`, inc.affected)) {
      if (inc.affected.length === 0) fail(`${p}.affected`, 'expected at least one affected operation', inc.affected);
      inc.affected.forEach((a, j) => ref(`${p}.affected[${j}]`, a));
    }
    if (isArr(`${p}.anomalies`, inc.anomalies)) {
      if (inc.anomalies.length === 0) fail(`${p}.anomalies`, 'expected the anomalies behind the incident', inc.anomalies);
      inc.anomalies.forEach((a, j) => {
        const q = `${p}.anomalies[${j}]`;
        if (!ref(q, a)) return;
        str(`${q}.kind`, a.kind);
        iso(`${q}.at`, a.at);
        num(`${q}.observed`, a.observed);
        num(`${q}.expected`, a.expected);
        oneOf(`${q}.severity`, a.severity, SEVERITIES);
      });
    }
    if (isArr(`${p}.traceIds`, inc.traceIds)) {
      inc.traceIds.forEach((t, j) => {
        if (!(typeof t === 'string' && /^[0-9a-f]{32}$/.test(t))) fail(`${p}.traceIds[${j}]`, 'expected a 32-digit lowercase hex trace id', t);
      });
    }
  });
  return errors;
}
