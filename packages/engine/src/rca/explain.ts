import type { Anomaly, ChangeEvent, RankedOrigin, Severity } from '../types.js';
import type { LatencyOptions } from '../options.js';
import { latencyTier } from '../detectors/latency.js';
import { SEVERITY_RANK } from '../incidents/severity.js';
import { EVENT_LOOP_OPERATION } from '../model/loop.js';
import { connectTarget, isPoolWait, saysRefused } from '../model/operation.js';
import { datedTo, inTheLast, label, ms, pct, plural, quote, ratio, rps, seconds } from './format.js';

/** Numbers describing the root-cause operation's own state, for the root-cause sentence. */
export interface RootFigures {
  /** Width (ms) of the window every figure below was taken over. */
  window?: number;
  /** Event time the figures were taken at (their window's end); dated in the sentence once stale. */
  at?: number;
  /** p95 now and baseline p95, of self time for services, of call latency for peers (ms). */
  p95?: { now: number; baseline: number; what: 'self-time' | 'latency' };
  /**
   * Error rate now and baseline, with counts, what the latest failing request said and where in its own
   * code it failed (see Anomaly.failedIn); `never`: not one of its requests has ever succeeded, so the
   * baseline learned only its failures; `absorbed`: how many failures their callers' requests survived.
   */
  errors?: { rate: number; baseline: number; errors: number; requests: number; message?: string; failedIn?: string; never?: boolean; absorbed?: number };
  /** A connection pool's wait, when its connect calls slowed in the incident and are not the root cause (see {@link isPoolWait}). */
  pool?: { label: string; now: number; baseline: number; window: number; at?: number };
  /**
   * With `pool`, or waits for a pooled connection given up on: the root's calls that held a connection long,
   * ended since the windows of the incident's anomalies began: how many (`atLeast`: or more), the longest (ms).
   */
  held?: { calls: number; longest: number; long?: number; atLeast: boolean };
  /**
   * For an event loop root: the service's operation with the longest own time, which may be holding it:
   * its p95 (`ms`), or its longest request's (`once`: no operation's p95 was long enough). With `every`,
   * each of the service's operations served in the window (two or more) spent at least `every.ms` of its
   * own at p95, half that p95 or more: work every request does.
   */
  blocker?: { label: string; ms: number; once: boolean; requests: number; window: number; every?: { operations: number; ms: number } };
  /** For an event loop root: its longest recent hold (ms) and the CPU the process used meanwhile, when under half of it. */
  idle?: { ms: number; cpuMs: number };
  /**
   * For an event loop root seen only from outside (no loop samples): its calls answered late over the
   * `window` ms to `at`, the longest wait between its callee's span's end and the call's (`ms`), that callee,
   * and how many (`atLeast`: or more); with none (`requests`), the requests it read late, the longest wait
   * between the call and the request's start, and the calling operation.
   */
  late?: { label: string; ms: number; calls: number; atLeast: boolean; window: number; at: number; requests: boolean };
  /**
   * A new process of the root's service (a restart, a new replica) near the incident's start: when it
   * started, and the bucket width (the first detection closes the bucket the trouble began in).
   */
  restart?: { at: number; bucketMs: number; deploy?: ChangeEvent };
  /**
   * A traffic surge on an operation of a service in the incident, still firing: its anomaly's explanation
   * (told by its first clause, "catalog GET /products/:id traffic 293 req/s vs 27 req/s expected (+986%) in
   * the last 5 s"). Told as what happened meanwhile, not as the cause: a flood of requests may be why it
   * slowed (a cold cache, callers let go at once) or what its failures set off (a retry storm).
   */
  surge?: string;
  /** For a consumer whose traffic dropped: an operation sending it messages that goes on, its rate now and learned (req/s). */
  producing?: { label: string; now: number; expected: number };
  /**
   * For a consumer whose messages wait in its queue: the messages it took per second over that anomaly's
   * window, and its learned rate (a consumer that lost instances takes fewer; one behind a surge, more).
   */
  taking?: { now: number; expected: number };
  /** For a traffic root: its requests (or messages) have callers, none of them in view (another process's spans). */
  unseenCallers?: 'requests' | 'messages';
}

/** A traffic rate's change on its expected rate, signed: `+233%`, `−94%`. */
function trafficChange(observed: number, expected: number): string {
  const change = expected > 0 ? observed / expected - 1 : 0;
  return `${change >= 0 ? '+' : '−'}${pct(Math.abs(change))}`;
}

/** An episode's figure at its worst, as {@link explainAnomaly} words it: `140 ms (5.3×)`, `45%`, `−94%`, `38 calls per request`. */
export function worstFigure(kind: Anomaly['kind'], signal: Anomaly['signal'], observed: number, expected: number): string {
  switch (kind) {
    case 'latency':
      // A queue's usual wait may be nothing at all: then there is no ratio to tell.
      return expected >= MIN_RATIO_BASE_MS ? `${ms(observed)} (${ratio(observed / expected)})` : ms(observed);
    case 'traffic':
      return trafficChange(observed, expected);
    default:
      return signal === 'shape.more-calls' ? `${times(observed)} calls per request` : pct(observed);
  }
}

/** A baseline under this (ms), a queue's usual wait of nothing, gives no ratio worth telling. */
const MIN_RATIO_BASE_MS = 0.1;

/** A count per request: whole from 10, else to one decimal. */
function times(x: number): string {
  return x >= 10 ? `${Math.round(x)}` : x.toFixed(1);
}

/** Made by at most this part of its usual share of requests, a usual call has stopped; above it, it is made less often (a partial drop). */
const STOPPED_PART = 0.1;

/** One sentence for an anomaly episode, with the numbers that fired it. */
export function explainAnomaly(
  a: Omit<Anomaly, 'explanation' | 'id' | 'firstAt' | 'peak'>,
  extra: { count?: number; absorbed?: number; window: number; slowerThan: number; on?: { instance: string; count: number; of: number }; operations?: number; perRequest?: number; calls?: boolean },
): string {
  const who = label(a.service, a.operation);
  let s: string;
  switch (a.kind) {
    case 'latency': {
      // The event loop's samples are its longest hold per tick, not requests.
      const loop = a.operation === EVENT_LOOP_OPERATION;
      if (a.signal === 'latency.tail' && a.held !== undefined) {
        // Requests held together (a lock, a hang): how many, how long, against the operation's usual tail.
        s = `${who} held ${a.held} of ${plural(a.samples, extra.calls === true ? 'call' : 'request')} at once for up to ${ms(a.observed)} vs baseline p95 ${ms(a.expected)} (${ratio(a.observed / a.expected)})`;
        break;
      }
      if (a.signal === 'latency.queue') {
        const against = a.expected >= MIN_RATIO_BASE_MS ? ` (${ratio(a.observed / a.expected)})` : '';
        s = `${who} took its messages ${ms(a.observed)} after they were sent (median of ${a.samples}, waiting in its queue) vs baseline ${ms(a.expected)}${against}`;
        break;
      }
      if (a.signal === 'latency.tail') {
        const slow = extra.count ?? 0;
        s = `${who} p95 ${ms(a.observed)} vs baseline ${ms(a.expected)} (${ratio(a.observed / a.expected)}), ${slow} of ${a.samples} ${loop ? 'ticks' : extra.calls === true ? 'calls' : 'requests'} (${pct(slow / Math.max(1, a.samples))}) over ${extra.slowerThan}× typical`;
        s += onInstance(extra.on);
        break;
      }
      const what = loop ? 'held for' : a.signal === 'latency.self' ? 'typical self time' : 'typical latency';
      s = `${who} ${what} ${ms(a.observed)}${loop ? ' at a time' : ''} vs baseline ${ms(a.expected)} (${ratio(a.observed / a.expected)}) over ${plural(a.samples, loop ? 'tick' : extra.calls === true ? 'call' : 'request')}`;
      break;
    }
    case 'errors':
      s = `${who} error rate ${pct(a.observed)} (${extra.count ?? 0}/${a.samples}) vs baseline ${pct(a.expected)}${absorbedWords(extra.absorbed, extra.count ?? 0)}${onInstance(extra.on)}`;
      break;
    case 'timeout': {
      // The counts are the edge's: given up on calls to several operations, they are the service's, not one operation's.
      const several = (extra.operations ?? 1) > 1;
      // The counts are of every call to the service: "in 31 of 72 calls" of one operation read as 43% of
      // its calls failing when all 31 did, beside 41 to another operation answered.
      s = `${a.caller ? a.caller.service : 'callers'} got no ${isPoolWait(a.operation) ? 'connection' : 'answer'} from ${several ? a.service : who} in ${extra.count ?? 0} of ${a.samples} calls${several ? ` to ${extra.operations} of its operations` : who === a.service ? '' : ` to ${a.service}`} (${pct(a.observed)}, baseline ${pct(a.expected)})`;
      break;
    }
    case 'traffic':
      s = `${who} traffic ${rps(a.observed)} vs ${rps(a.expected)} expected (${trafficChange(a.observed, a.expected)})`;
      break;
    case 'shape': {
      const callee = a.callee ? label(a.callee.service, a.callee.operation) : 'a dependency';
      s =
        a.signal === 'shape.more-calls' ? `${who} calls ${callee} ${times(a.observed)} times per request vs usually ${times(a.expected)} (${ratio(a.observed / a.expected)}) over ${a.samples} requests` :
        `${who} ${a.signal !== 'shape.missing-call' ? `started calling ${callee}` : a.observed <= a.expected * STOPPED_PART ? `stopped calling ${callee}` : `called ${callee} less often`}: ${pct(a.observed)} of requests vs usually ${pct(a.expected)}`;
      // A new call made several times in each request is a loop (an N+1): how many is the first thing to know.
      if (extra.perRequest !== undefined && extra.perRequest >= 1.5) s += `, ${times(extra.perRequest)} calls per request`;
      break;
    }
  }
  s += ` ${inTheLast(extra.window)}`;
  s += lastError(a.message, a.failedIn);
  const c = a.cause;
  if (c.service !== a.service || c.operation !== a.operation) {
    // An uninstrumented dependency's requests are its callers' calls (redis GET's slow calls, not requests).
    const those = extra.calls === true ? 'calls' : 'requests';
    const what = a.kind === 'errors' ? `failing ${those} fail first in` : a.kind === 'latency' ? `slow ${those} spend the extra time in` : a.kind === 'timeout' ? 'the give-ups trace back to' : 'the change traces back to';
    s += `; ${pct(c.share)} of ${what} ${label(c.service, c.operation)}`;
  }
  return s;
}

/** The one process of several that served the requests counted: `, 12 of them on instance "api-2" (one of 2)`. */
function onInstance(on: { instance: string; count: number; of: number } | undefined): string {
  return on === undefined ? '' : `, ${on.count} of them on instance ${quote(on.instance)} (one of ${on.of})`;
}

/** Failures their callers' requests survived, of `errors`: `, all 12 retried or handled (their callers' requests succeeded)`. */
function absorbedWords(absorbed: number | undefined, errors: number): string {
  if (absorbed === undefined || !(absorbed > 0)) return '';
  return `, ${absorbed >= errors ? `all ${errors}` : `${absorbed} of them`} retried or handled (their callers' requests succeeded)`;
}

/** What failing requests said, and where in their own code they failed: `, last error "…" in graphql.resolve product.price`. */
function lastError(message: string | undefined, failedIn: string | undefined): string {
  const said = message === undefined ? '' : `, last error ${quote(message)}`;
  if (failedIn === undefined) return said;
  return said === '' ? `, failing in ${failedIn}` : `${said} in ${failedIn}`;
}

/** A caller's error anomaly pointing at `top` whose last error is a failed connection (see connectTarget). */
function refusedBy(top: RankedOrigin, anomalies: readonly Anomaly[]): Anomaly | undefined {
  return anomalies.find((a) => failsIn(a, top.service) && a.message !== undefined && connectTarget(a.message) !== undefined);
}

/** Whether `a` is another service's failures, started in `service`. */
function failsIn(a: Anomaly, service: string): boolean {
  return a.kind === 'errors' && a.service !== service && a.cause.service === service;
}

/** An error root's latest figures are told beside its worst once they rest on this many times its requests. */
const LATEST_AFTER = 4;

/** A root whose own p95 rose by at most this part of what its callers' requests did is waited on outside itself. */
const OUTSIDE_SHARE = 0.25;

/**
 * The slowest caller whose extra time traces to `top` while `top`'s own spans rose by less than
 * {@link OUTSIDE_SHARE} of it (see explainRoot), if any.
 */
function waitedOnOutside(top: RankedOrigin, p95: NonNullable<RootFigures['p95']>, anomalies: readonly Anomaly[]): Anomaly | undefined {
  let found: Anomaly | undefined;
  for (const a of anomalies) {
    if (a.kind !== 'latency' || a.service === top.service || a.cause.service !== top.service || a.cause.operation !== top.operation) continue;
    if (found === undefined || extraOf(a) > extraOf(found)) found = a;
  }
  return found !== undefined && p95.now - p95.baseline < OUTSIDE_SHARE * extraOf(found) ? found : undefined;
}

/** How much longer than usual a latency anomaly's requests took at its worst (ms). */
function extraOf(a: Anomaly): number {
  return a.peak.observed - a.peak.expected;
}

/** A pool's connection wait (ms) at which requests queue behind busy connections, not for new ones opening. */
const POOL_QUEUE_MS = 10;

/** The error anomaly of another service whose failures start in `top`'s operation, the most of them first. */
function failingCaller(top: RankedOrigin, anomalies: readonly Anomaly[]): Anomaly | undefined {
  let found: Anomaly | undefined;
  for (const a of anomalies) {
    if (!failsIn(a, top.service) || a.cause.operation !== top.operation) continue;
    if (found === undefined || a.cause.share > found.cause.share) found = a;
  }
  return found;
}

/**
 * The incident's root-cause sentence: the root cause's own numbers over their stated window, how much of
 * its callers' trouble traces back to it, and a deploy seen shortly before. When the incident's severity
 * (its worst anomaly's) is not the tier of a ratio already stated, the worst anomaly's own words follow,
 * so every severity is backed by a figure of the one tier table. `toldAt`: the event time it is told at
 * (the end of the bucket just closed); figures taken before are dated ("in the 5 s to 14:02:07 UTC").
 * `calls`: whether an anomaly's operation is an uninstrumented dependency's, whose requests are calls.
 */
export function explainRoot(
  top: RankedOrigin,
  anomalies: readonly Anomaly[],
  figures: RootFigures,
  change: ChangeEvent | undefined,
  firstAt: number,
  latency: LatencyOptions,
  toldAt?: number,
  calls: (a: Anomaly) => boolean = () => false,
): string {
  const who = label(top.service, top.operation);
  /** Figures taken at `at`, dated unless their window ends where the sentence is told (an earlier bucket's are no longer "the last"). */
  const dated = (words: string, at: number | undefined) => (toldAt !== undefined && at !== undefined && at < toldAt ? datedTo(words, at) : words);
  /** An anomaly's own numbers at its worst, dated. */
  const words = (a: Anomaly) => dated(ownWords(a), a.peak.at);
  // Whether the give-ups' words told how long the root's calls held the pool's connections (see poolHeldWords).
  let heldSaid = false;
  const giveUps = (t: Anomaly): string => {
    const w = words(t);
    if (!holdsPool(top, t, w)) return w;
    heldSaid = figures.held !== undefined;
    return poolHeldWords(top, w, figures.held);
  };
  const parts: string[] = [];
  /** Severities the sentence's stated latency figures back. */
  const backed = new Set<Severity>();
  // Its own anomaly of the root's kind, else any of its own: a root blamed for a call-pattern change
  // that also slowed down is best told by its slowdown's figures.
  const mine = anomalies.filter((a) => a.service === top.service && a.operation === top.operation).sort(byCallee);
  const own = mine.find((a) => a.kind === top.kind) ?? mine[0];
  const within = figures.window !== undefined ? `${dated(inTheLast(figures.window), figures.at)}: ` : '';
  // A hang: the root's calls are still open (in flight), so the latency of its calls that ended says
  // nothing yet (1.0×); the calls that got no answer do. For a slowdown, only its own give-ups (or the
  // pool's it holds): another statement's would lead a sentence about this one with that one's figures.
  const hung = top.kind === 'latency' || top.kind === 'timeout' ? giveUpsAt(top, anomalies) : undefined;
  let refused: Anomaly | undefined;
  let failing: Anomaly | undefined;
  let together: ReturnType<typeof slowedTogether>;
  let waiting: Anomaly | undefined;
  /** The root's own anomaly whose words lead the sentence, when one does. */
  let lead: Anomaly | undefined;
  const p95 = figures.p95;
  if (top.kind === 'latency' && hung !== undefined && (hung.operation === top.operation || isPoolWait(hung.operation)) && (p95 === undefined || !(p95.baseline > 0) || latencyTier(p95.now / p95.baseline, p95.now, latency) === null)) {
    parts.push(giveUps(hung));
    backed.add(hung.severity);
  } else if (top.kind === 'latency' && own?.kind === 'latency' && (top.operation === EVENT_LOOP_OPERATION || own.held !== undefined || own.signal === 'latency.queue')) {
    // A loop's samples are its holds: its own words say how long at a time (the p95 of a window of
    // ticks hides one long hold among free ones). So do requests held together: a few among many. A
    // consumer behind its queue handles each message as fast as ever: how long they waited says it.
    parts.push(words(own));
    backed.add(own.severity);
  } else if (
    top.kind === 'latency' &&
    p95 &&
    p95.baseline > 0 &&
    latencyTier(p95.now / p95.baseline, p95.now, latency) !== null &&
    // Its own time rose by a sliver of what its callers waited (see waitedOnOutside): told as such below.
    (p95.what !== 'self-time' || own !== undefined || waitedOnOutside(top, p95, anomalies) === undefined)
  ) {
    // Only a slowdown backs a latency root: calls of it that still end fast say nothing of the ones
    // its callers waited on and never finished (see slowOrigin), so those are told by the words below.
    // Nor does a p95 below every tier (a heavy-tailed baseline, a few slow calls among many): the root's
    // own anomaly, or the worst one, has the figures that fired.
    const f = p95;
    parts.push(`${within}${who} ${f.what} p95 ${ms(f.now)} vs baseline ${ms(f.baseline)} (${ratio(f.now / f.baseline)})`);
    const tier = latencyTier(f.now / f.baseline, f.now, latency);
    if (tier !== null) backed.add(tier);
  } else if (top.kind === 'errors' && figures.errors && figures.errors.errors > 0) {
    const f = figures.errors;
    // A callee first seen failing (a host that does not resolve) has no healthy rate to compare with.
    const against = f.never ? 'and not one ever succeeded' : `vs baseline ${pct(f.baseline)}`;
    const told = lastError(f.message, f.failedIn);
    parts.push(`${within}${who} error rate ${pct(f.rate)} (${f.errors}/${f.requests}) ${against}${absorbedWords(f.absorbed, f.errors)}${told}`);
    // Its worst over a handful of requests ("100% (4/4)"), told for the whole incident, hid how it went on
    // (53% of 105): its latest figures over many more requests follow.
    if (own?.kind === 'errors' && own.samples >= LATEST_AFTER * f.requests && own.explanation !== own.peak.explanation) {
      const latest = firstClause(own.explanation);
      parts.push(`latest: ${dated(told === '' ? latest : latest.replace(told, ''), own.at)}`);
    }
  } else if (top.kind === 'errors' && own?.kind !== 'errors' && (refused = refusedBy(top, anomalies)) !== undefined) {
    // A peer that refuses connections (or a service whose process is down) answers no call: its callers'
    // failures say what happened, not its traffic's drop.
    const message = refused.message as string;
    const quoted = quote(message);
    // Said when the quote is cut before it (Python's requests name the refusal two hundred characters in).
    const how = saysRefused(message) && !saysRefused(quoted) ? ' (connection refused)' : '';
    parts.push(`${label(refused.service, refused.operation)} cannot connect to ${top.service}${how}: ${quoted}`);
  } else if (top.kind === 'timeout' && hung !== undefined && own?.kind !== 'timeout') {
    // Timeouts are told by the give-ups, not by the latency of the calls that were answered.
    parts.push(giveUps(hung));
  } else if (own) {
    parts.push(words(own));
    lead = own;
    if (own.kind === 'latency') backed.add(own.severity);
  } else if (top.kind === 'latency' && top.operation === EVENT_LOOP_OPERATION && figures.late === undefined && (together = slowedTogether(top.service, anomalies, calls)) !== undefined) {
    // A loop seen only from outside, by what slowed with it: its requests' own time and its calls to
    // callees that have nothing else in common (see the incident manager's sharedWork).
    const { self, call, peers } = together;
    parts.push(`${top.service}'s own time and its calls to ${list(peers)} slowed at once: ${words(self)}`, words(call));
    backed.add(self.severity).add(call.severity);
  } else if (top.kind === 'timeout') {
    parts.push(`callers gave up waiting on ${who}`);
  } else if (top.kind === 'errors' && (failing = failingCaller(top, anomalies)) !== undefined) {
    // No failure of its own seen: its callers fail without calling it (an "unavailable" answer while it
    // answers nobody, see trace/analyze.ts). What they felt, and that they stopped calling.
    parts.push(`${words(failing)}, failing without calling ${who}`);
  } else if (top.kind === 'latency' && top.operation === EVENT_LOOP_OPERATION && figures.late !== undefined) {
    // A loop seen only from outside: what its calls' answers waited once they had come.
    const f = figures.late;
    const counted = `${f.atLeast ? 'at least ' : ''}${plural(f.calls, f.requests ? 'request' : 'call')} ${dated(inTheLast(f.window), f.at)}`;
    parts.push(
      f.requests
        ? `${top.service} reads its requests late: calls to it from ${f.label} waited up to ${ms(f.ms)} before it began them (${counted})`
        : `${top.service} reads its answers late: its calls to ${f.label} ended up to ${ms(f.ms)} after the answer was sent (${counted})`,
    );
  } else if (top.kind === 'latency' && p95?.what === 'self-time' && (waiting = waitedOnOutside(top, p95, anomalies)) !== undefined) {
    // Its callers wait on it far longer while its own spans take about what they did: the time is spent on
    // the way (a delayed network or proxy, its host's listener), which the slow walk counts as its side.
    const own = p95.now > p95.baseline ? `${ms(p95.now - p95.baseline)} longer` : 'no longer';
    parts.push(
      `${within}${who}'s own spans took ${own} than usual (self-time p95 ${ms(p95.now)} vs baseline ${ms(p95.baseline)}), ${label(waiting.service, waiting.operation)} requests up to ${ms(extraOf(waiting))} longer: the time is spent between them, on the network or a proxy, or waiting for ${top.service} to read the requests (its event loop or all its workers busy, a full listen queue)`,
    );
  } else {
    parts.push(`${who} is where the ${top.kind === 'latency' ? 'extra time is spent' : 'trouble starts'}`);
  }
  // A hang or slowdown whose calls also fail once answered: what they said (a lock wait that timed out).
  const failed = top.kind !== 'errors' ? mine.find((a) => a.kind === 'errors' && a.message !== undefined) : undefined;
  if (failed !== undefined && failed !== lead) parts.push(words(failed));
  // A slowdown of one instance of several: where to look.
  const one = mine.find((a) => a.instance !== undefined);
  // Unless its figures named it already ("latest: …, 180 of them on instance "api-2" (one of 3)").
  if (one !== undefined && !parts.some((p) => p.includes(`on instance ${quote(one.instance as string)}`))) parts.push(`its ${one.kind === 'errors' ? 'failing' : 'slow'} requests ran on instance ${quote(one.instance as string)}`);
  // A root that now calls something many more times per request (N+1 queries): why it slowed.
  const more = mine.find((a) => a.signal === 'shape.more-calls');
  if (more !== undefined && more !== own) parts.push(words(more));
  // The strongest evidence from another service that its trouble starts here: what its users felt (failed,
  // slow or abandoned requests) before a change of call pattern, which a failure only causes (calls it cut short).
  // One whose trouble starts in the root's operation first: the requests of a route that calls another of
  // its operations fail in the same service, but not where the sentence just said.
  let best: Anomaly | undefined;
  const inRoot = (a: Anomaly) => Number(a.cause.operation === top.operation);
  const stronger = (a: Anomaly, b: Anomaly) => inRoot(a) - inRoot(b) || felt(a) - felt(b) || a.cause.share - b.cause.share;
  for (const a of anomalies) {
    if (a.service === top.service || a.cause.service !== top.service) continue;
    if (best === undefined || stronger(a, best) > 0) best = a;
  }
  /** The anomaly whose own figures the evidence gave (not to be told twice). */
  let cited: Anomaly | undefined;
  if (best !== undefined) {
    const share = pct(best.cause.share);
    const window = `(${dated(inTheLast(best.at - best.windowStart), best.at)})`;
    const those = calls(best) ? 'calls' : 'requests';
    // A root whose callers fail without calling it has no failure in it for their requests to meet first.
    if (best.kind === 'errors') parts.push(`${share} of failing ${label(best.service, best.operation)} ${those} fail ${failing !== undefined ? 'without calling' : 'first in'} ${top.service} ${window}`);
    else if (best.kind === 'latency') parts.push(`${share} of slow ${label(best.service, best.operation)} ${those} spend the extra time in ${top.service} ${window}`);
    else {
      // Give-ups on a service in between, or a change of call pattern or traffic, are told by their own latest
      // figures ("stopped calling …: 0% of requests vs usually 99% in the last 5 s"), over the window the share is of.
      cited = best;
      parts.push(dated(firstClause(best.explanation), best.at), `${share} of ${best.kind === 'timeout' ? 'the give-ups trace' : 'the change traces'} back to ${top.service}`);
    }
  }
  // A saturated pool: requests queue for a connection before any query runs. A wait of a few ms is no queue
  // behind busy connections (a pool of 10, never full, read "1.6 ms vs 0.8 ms"): new connections opening.
  if (top.kind === 'latency' && isPoolWait(top.operation)) {
    const waitMs = p95?.now ?? (own?.kind === 'latency' ? own.observed : undefined);
    parts.push(waitMs !== undefined && waitMs < POOL_QUEUE_MS ? 'requests wait longer for a pooled connection: connections being opened, or a pool getting busy' : 'requests are waiting for a connection: the pool is saturated');
  } else if (top.kind === 'timeout' && isPoolWait(top.operation)) {
    // A connect that times out may also be a database that does not answer new connections.
    parts.push('requests got no pooled connection in time: the pool is saturated, or the database does not accept connections');
  } else if (top.kind === 'latency' && top.operation === EVENT_LOOP_OPERATION) {
    const idle = figures.idle;
    // Held in a share of the ticks only (a tail), only the requests that come meanwhile wait.
    const waits = own?.signal === 'latency.tail' ? 'a request that comes while it is held waits up to that long before it is read' : 'every request waits that long before it is read';
    if (idle !== undefined) {
      parts.push(`the process used ${ms(idle.cpuMs)} of CPU while its event loop was held ${ms(idle.ms)}: not CPU work but a synchronous wait or a process stopped or starved of CPU (a signal, a debugger, throttling); ${waits}`);
    } else if (own === undefined && (figures.late !== undefined || together !== undefined)) {
      // No samples of the loop: CPU work and a starved process read the same from outside.
      parts.push(`its event loop is held (CPU work, or a process starved of CPU): ${figures.late?.requests ? 'requests wait to be read, and ' : ''}every call it makes ends late, whatever its callee does`);
    } else parts.push(`CPU work is holding the event loop of ${top.service}: ${waits}`);
    // A lead to the operation doing the work, or the synchronous wait.
    const b = figures.blocker;
    if (b?.every !== undefined) {
      const all = b.every.operations === 2 ? 'both its operations' : `all ${b.every.operations} of its operations`;
      parts.push(`${all} spend ${ms(b.every.ms)} or more of their own time at p95 ${inTheLast(b.window)}: work every request does (a middleware, a hook)`);
    } else if (b !== undefined) {
      const requests = plural(b.requests, 'request');
      parts.push(`longest own time: ${b.label}, ${b.once ? `${ms(b.ms)} in one of its ${requests}` : `self-time p95 ${ms(b.ms)} over ${requests}`} ${inTheLast(b.window)}`);
    }
  } else if (figures.pool !== undefined && figures.pool.baseline > 0) {
    const f = figures.pool;
    const h = figures.held;
    if (h !== undefined && !heldSaid) parts.push(`its calls held the pool's connections: ${heldWords(h)}`);
    parts.push(`waiting for a connection: ${f.label} p95 ${ms(f.now)} vs baseline ${ms(f.baseline)} (${ratio(f.now / f.baseline)}) ${dated(inTheLast(f.window), f.at)}`);
  }
  let worst: Anomaly | undefined;
  for (const a of anomalies) if (worst === undefined || SEVERITY_RANK[a.severity] > SEVERITY_RANK[worst.severity]) worst = a;
  // A hang's give-up figures back a severity too (in-flight calls make a timeout the worst while it lasts),
  // and a call-pattern change's (medium, off the latency table) unless its words are already there.
  const tells = worst !== undefined && worst !== cited && (worst.kind === 'latency' || worst.kind === 'timeout' || (worst.kind === 'shape' && worst !== more));
  // Not after a stated figure of its tier or a higher one: "worst" would label the milder figure.
  if (top.kind === 'latency' && worst !== undefined && tells && !atLeast(backed, worst.severity)) {
    parts.push(`worst: ${words(worst)}`);
  }
  if (change) {
    const when = change.at <= firstAt ? `${seconds(firstAt - change.at)} before` : change.at - firstAt < 1000 ? 'as it began' : `${seconds(change.at - firstAt)} after it was detected`;
    parts.push(`${change.service} ${change.from ?? '?'} → ${change.to} seen ${when}`);
  }
  if (figures.taking !== undefined) parts.push(`it took ${rps(figures.taking.now)} of them (${rps(figures.taking.expected)} usually)`);
  const producing = figures.producing;
  if (producing !== undefined) parts.push(`${producing.label} still sends it messages at ${rps(producing.now)} (${rps(producing.expected)} expected): they wait in its queue`);
  else if (figures.unseenCallers !== undefined) {
    parts.push(figures.unseenCallers === 'messages' ? 'its producers are in another process: fewer messages came, so look upstream (or at the broker)' : 'its callers are in another process: fewer of their requests reached it, so look upstream, or at what lies between (its listener, a proxy)');
  }
  if (figures.surge !== undefined) parts.push(`traffic surged meanwhile: ${firstClause(figures.surge)}`);
  const restart = figures.restart;
  if (restart !== undefined) {
    // Calls refused while a process restarts are told apart from a service failing on its own; a version it
    // brought that the sentence has not named yet (a rollback once the incident was told) with it.
    const began = firstAt - restart.bucketMs;
    const d = restart.deploy;
    const started = d !== undefined && (change === undefined || d.at !== change.at) ? `process (${d.from ?? '?'} → ${d.to})` : 'process';
    parts.push(
      restart.at < began ? `a new ${top.service} ${started} started ${seconds(began - restart.at)} before` :
      restart.at <= firstAt ? `${top.service} restarted as it began (a new ${started})` :
      `a new ${top.service} ${started} started ${seconds(restart.at - firstAt)} after it was detected`,
    );
  }
  return parts.join('; ');
}

/**
 * A service's own time that slowed (its strongest such anomaly) beside its calls to two or more peers (the
 * strongest, and the peers by name), when they did.
 */
function slowedTogether(service: string, anomalies: readonly Anomaly[], calls: (a: Anomaly) => boolean): { self: Anomaly; call: Anomaly; peers: string[] } | undefined {
  let self: Anomaly | undefined;
  let call: Anomaly | undefined;
  const peers = new Set<string>();
  for (const a of anomalies) {
    if (a.kind !== 'latency') continue;
    if (a.service === service && a.signal === 'latency.self') {
      if (self === undefined || stronger(a, self)) self = a;
    } else if (a.service !== service && calls(a)) {
      peers.add(a.service);
      if (call === undefined || stronger(a, call)) call = a;
    }
  }
  return self !== undefined && call !== undefined && peers.size >= 2 ? { self, call, peers: [...peers].sort() } : undefined;
}

/** Whether `a` is the more severe anomaly, or as severe with the higher score. */
function stronger(a: Anomaly, b: Anomaly): boolean {
  const d = SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity];
  return d > 0 || (d === 0 && a.score > b.score);
}

/** "a", "a and b", "a, b and c". */
function list(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** 1 for an anomaly of what a service's callers feel (errors, latency, calls given up on), else 0. */
function felt(a: Anomaly): number {
  return a.kind === 'errors' || a.kind === 'latency' || a.kind === 'timeout' ? 1 : 0;
}

/**
 * Call-pattern anomalies about a pool's connection wait after those about the statements: each query checks
 * a connection out, so an N+1 loop of queries is also one of pool waits, but the query says what the code does.
 */
function byCallee(a: Anomaly, b: Anomaly): number {
  return Number(isPoolWait(a.callee?.operation ?? null)) - Number(isPoolWait(b.callee?.operation ?? null));
}

/** The root's give-ups: its own timeout anomaly, else one of its service's (a pool wait its calls hold up). */
function giveUpsAt(top: RankedOrigin, anomalies: readonly Anomaly[]): Anomaly | undefined {
  return (
    anomalies.find((a) => a.kind === 'timeout' && a.service === top.service && a.operation === top.operation) ??
    anomalies.find((a) => a.kind === 'timeout' && a.service === top.service)
  );
}

/**
 * Whether a timeout anomaly's words (`words`) are about the wait for a pooled connection while the root `top`
 * is a statement they do not name (an episode's words are those of its worst moment, which may have named
 * the call open longest): then the statement's calls hold the pool's connections (see {@link poolHeldWords}).
 */
function holdsPool(top: RankedOrigin, t: Anomaly, words: string): boolean {
  return isPoolWait(t.operation) && !isPoolWait(top.operation) && !words.includes(label(top.service, top.operation));
}

/**
 * How long a root's held calls took: `18 calls took up to 30.0 s`, or, when some were much shorter, `10 of 18
 * calls took 15.0 s or more, up to 30.0 s` (a lock's ten waits beside eight calls slowed by the backlog).
 */
function heldWords(h: NonNullable<RootFigures['held']>): string {
  const all = `${h.atLeast ? 'at least ' : ''}${plural(h.calls, 'call')}`;
  if (h.long === undefined || h.long >= h.calls) return `${all} took up to ${ms(h.longest)}`;
  return `${h.long} of ${all} took ${ms(h.longest / 2)} or more, up to ${ms(h.longest)}`;
}

/**
 * A pool wait's give-up words (`words`, as told) led, where {@link holdsPool}, by the root statement's calls
 * holding the pool's connections, so the sentence does not read as if the pool were the root: they hang,
 * or, when its long calls ended (`held`: a query slowed to a second, every one answered), they take up to
 * the longest.
 */
function poolHeldWords(top: RankedOrigin, words: string, held: RootFigures['held']): string {
  const how = held === undefined ? 'calls hang' : `calls take up to ${ms(held.longest)}`;
  return `${label(top.service, top.operation)} ${how}, holding the pool's connections: ${words}`;
}

/** An anomaly's own numbers at its worst, with their window, without the attribution clause. */
function ownWords(a: Anomaly): string {
  return firstClause(a.peak.explanation);
}

/** An anomaly sentence's figures, without the clauses after them (attribution, "at worst"). */
function firstClause(sentence: string): string {
  // A quoted error message keeps its own semicolons ("Lock wait timeout exceeded; try restarting transaction").
  let quoted = false;
  for (let i = 0; i < sentence.length; i++) {
    const c = sentence[i];
    if (c === '"') quoted = !quoted;
    else if (c === ';' && !quoted) return sentence.slice(0, i);
  }
  return sentence;
}

/** Whether one of `tiers` ranks at or above `severity`. */
function atLeast(tiers: ReadonlySet<Severity>, severity: Severity): boolean {
  for (const t of tiers) if (SEVERITY_RANK[t] >= SEVERITY_RANK[severity]) return true;
  return false;
}
