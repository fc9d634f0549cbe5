import type { AttributeValue, Span, SpanLink } from '../types.js';
import { MAX_LINKS } from '../limits.js';
import {
  answeredTooMany,
  answeredUnavailable,
  connectTarget,
  errorMessage,
  gotAnswer,
  hasOutcome,
  isDependencyCall,
  isErrorSpan,
  isNameLookup,
  isPoolWait,
  isRpcToOther,
  looksLikeTimeout,
  looksRefused,
  peerName,
  sameAddress,
  type Address,
  type OperationNames,
} from '../model/operation.js';
import { opKey, opKeyOperation, opKeyService } from '../keys.js';
import { IN_FLIGHT_MIN_MS } from '../detectors/inflight.js';
import { isCallName, unansweredCallee } from '../ops/peers.js';
import { SCAN_IDS } from './buffer.js';
import { EVENT_LOOP_OPERATION, LOOP_MIN_SHIFT_MS } from '../model/loop.js';
import { MORE_RATIO } from '../detectors/shape.js';

/** Where a failing or slow request started going wrong. */
export interface Origin {
  service: string;
  operation: string | null;
  key: string;
  kind: 'errors' | 'timeout' | 'latency' | 'shape';
}

/** A request handled by a service: one entry (server/consumer/root) span. */
export interface EntryFact {
  service: string;
  operation: string;
  key: string;
  /** What has been learned of the operation so far (looked up once per request), if anything. */
  learned: LearnedOperation | undefined;
  span: Span;
  duration: number;
  /** Duration minus the time spent waiting on outgoing calls (union of their intervals). */
  self: number;
  /**
   * False when the request lacks one of its operation's usual calls (in flight when its trace was released,
   * or lost): its `self` then holds that call's wait too, no sample of its own work.
   */
  selfKnown: boolean;
  error: boolean;
  /** Keys of distinct callee operations this request called. */
  calls: string[];
  /**
   * How many calls the request made to each of `calls` that did not fail (same order; only its first
   * `calls.length` entries count): an N+1 query pattern is one callee called many times per request. The
   * fact's own array, reused.
   */
  callTimes: number[];
  /**
   * For a consumer's message: how long it waited in its queue (ms), from its producer span's end to this
   * span's start, when the producer span is its parent or linked (in the trace, or sent recently: see
   * {@link TraceContext.sentAt}); else NaN.
   */
  queued: number;
  /** For failing requests: where the failure started. */
  errorOrigin?: Origin;
  /**
   * For failing requests: the entry span's error message, else that of the failure below it in its own
   * service (see {@link failureOf}).
   */
  message: string | undefined;
  /**
   * For failing requests whose failure started in their own code, not in a call: the name of the span it
   * started in (a GraphQL resolver's, a middleware's; see {@link failureOf}).
   */
  failedIn: string | undefined;
  /** For slow requests: the operation that added the most time over its own baseline. */
  slowOrigin?: Origin;
  /**
   * For successful requests missing a call their operation almost always makes: where the request
   * left its usual path (see {@link divergenceOrigin}).
   */
  shapeOrigin?: Origin;
}

/** An outgoing call (client/producer span). */
export interface CallFact {
  callerService: string;
  /** Key of the caller's entry operation, when the caller's entry span is in the trace. */
  callerKey: string | undefined;
  calleeService: string;
  calleeOperation: string | null;
  calleeKey: string;
  /** The callee has no server spans of its own: a database, cache or uninstrumented service. */
  virtual: boolean;
  span: Span;
  duration: number;
  error: boolean;
  /** The caller got no answer in time: it gave up, or the callee never answered. */
  gaveUp: boolean;
  /**
   * A failed call (its answer a failure too, when answered) whose request succeeded all the same: retried,
   * or handled with a fallback. Its callers' users did not see it fail.
   */
  absorbed: boolean;
  /**
   * For a message sent (producer span): key of the consumer's entry operation that handled it in this trace.
   * Not an answer (see answerUnder), but the consumer's traffic is what the sender sends.
   */
  consumerKey: string | undefined;
}

/** What trace analysis reads of one operation learned so far. */
export interface LearnedOperation {
  /** Typical duration (ms), if learned. */
  typicalLatency(): number | undefined;
  /** Typical self time (ms), if learned. */
  typicalSelf(): number | undefined;
  /** Whether `ms` is far from the learned latency, either way (false while unlearned). */
  unusualLatency(ms: number): boolean;
  /** Callee keys the operation almost always calls, once learned (empty before). */
  readonly usual: readonly string[];
  /** How many times a request that calls `calleeKey` usually calls it, once learned. */
  usualCalls(calleeKey: string): number | undefined;
  /** Whether its requests (almost) never called `calleeKey` before, once its call shape is learned (false before). */
  newCallee(calleeKey: string): boolean;
  /** For a peer's operation: the address its first call went to, if the client span named one. */
  readonly address?: Address;
  /** End time (event ms) of its latest call or request that did not fail (-Infinity before one). */
  readonly lastOkAt: number;
  /** `service` once a server span of its own served it; `peer` while only its callers' spans are seen. */
  readonly nodeType: 'service' | 'peer';
}

/** What trace analysis needs to know from what has been learned so far. */
export interface TraceContext {
  /** Interned operation names and keys. */
  names: OperationNames;
  /** The operation learned under an operation key, if any. */
  operation(key: string): LearnedOperation | undefined;
  /**
   * The instrumented service behind a peer name, and the operation that calls named `callName` from the
   * caller operation `callerKey` reach (client spans are often named by method alone), if ever seen.
   */
  resolvePeer(peer: string, callName: string, callerKey: string | undefined): { service: string; operation: string | null } | undefined;
  /** Records that such calls to `peer` are answered by `service`'s `operation`. */
  learnPeer(peer: string, callName: string, callerKey: string | undefined, service: string, operation: string): void;
  /** End time (event ms) of `caller`'s latest call to `callee` (a service or peer; any of its operations) that did not fail; -Infinity before one. */
  answeredAt(caller: string, callee: string): number;
  /** Whether the latest in-flight report (in process only) has a call of trace `traceId` still open. */
  hasOpenCall(traceId: string): boolean;
  /**
   * When `caller` is giving up on its calls to the service of operation `calleeKey` now (a timeout
   * episode), or those calls are stuck before one opens (overdue, none answered since: see
   * InFlightCalls), the key of the operation it gives up on (the statement that hangs, whichever of the
   * database's statements `calleeKey` is); else undefined.
   */
  givenUpCall(caller: string, calleeKey: string): string | undefined;
  /**
   * The key of `service`'s event loop operation when a request started at `start` met the backlog of a
   * hold of that loop of `loopStallMs` or more (a synchronous block, a paused process): from the hold's
   * start to as long again after its end (at most a minute); else undefined.
   */
  heldLoop(service: string, start: number): string | undefined;
  /**
   * The key of `service`'s event loop and its largest extra hold (ms beyond its typical) reported around a
   * call to `callee` made from `start` to `end`, when its loop was held 30 ms or more beyond its typical,
   * and twice it, meanwhile (a saturated process), or in the tick just before while the sample of the call's
   * own tick has not come yet; without loop samples, how much of the call other
   * callees' answers waited to be read (see {@link noteLate}), or, for calls that overlap others to the same
   * callee, requests waited to be read (see {@link noteReadLate}); else undefined. The object is reused: read it at once.
   */
  loopDelay(service: string, start: number, end: number, callee: string): { key: string; ms: number } | undefined;
  /**
   * A call of `caller` to `callee` (operation `calleeKey`) answered late: the callee's span ended at `from`,
   * the call at `to`, `LOOP_MIN_SHIFT_MS` or more beyond the network's allowance. Without loop samples of
   * the caller, {@link loopDelay} takes such waits on other callees for its loop held (a process too busy
   * to read its answers).
   */
  noteLate(caller: string, callee: string, calleeKey: string, from: number, to: number): void;
  /** A call of `caller` answered, ended at `at`, `lateMs` after its callee's span did beyond the network's allowance (see AnswerLag). */
  noteAnswer(caller: string, at: number, lateMs: number): void;
  /**
   * A request of `caller`'s operation `callerKey` that `service` read late: the call was made at `from`, the
   * request began at `to`, `LOOP_MIN_SHIFT_MS` or more beyond the network's allowance. Without loop samples of
   * `service`, {@link loopDelay} takes such waits for its loop held, for calls that overlap others to the
   * same callee (a synchronous driver's call holds the loop itself, and the requests meanwhile wait for it).
   */
  noteReadLate(service: string, caller: string, callerKey: string, from: number, to: number): void;
  /**
   * A call of `caller` to `callee` (statement `calleeKey`) from `from` to `to` that took `LOOP_MIN_SHIFT_MS`
   * or more beyond its typical time: a pooled connection held meanwhile (see {@link heldDuring}).
   */
  noteHeld(caller: string, callee: string, calleeKey: string, from: number, to: number): void;
  /**
   * The statement of `caller`'s calls to `callee` noted held (see {@link noteHeld}) whose one call overlapped
   * `start`..`end` most, and by how much (ms): what a wait for a pooled connection then waited for. The
   * object is reused: read it at once.
   */
  heldDuring(caller: string, callee: string, start: number, end: number): { key: string; ms: number } | undefined;
  /**
   * When the message of producer span `spanId` of `traceId` was sent (its end: the broker had it), if noted
   * as it came (see `Recorder.noteSent`): for a consumer span that came after its producer's trace was
   * processed, or linked to a producer in another trace.
   */
  sentAt(traceId: string, spanId: string): number | undefined;
}

/** Requests slower than this multiple of their typical latency get a slow-origin analysis. */
const SLOW_FACTOR = 1.5;
/**
 * A call's duration beyond its answer's span up to this much (ms, or share of the call) is ordinary
 * network and clock skew between hosts; beyond it, the excess counts against the callee.
 */
const NET_ALLOWANCE_MS = 5;
const NET_ALLOWANCE_SHARE = 0.1;

/** The network's allowance (ms) for a call of `duration` ms (see {@link NET_ALLOWANCE_MS}). */
function netAllowance(duration: number): number {
  return Math.max(NET_ALLOWANCE_MS, NET_ALLOWANCE_SHARE * duration);
}

type Role = 'entry' | 'call' | 'internal';

/** A request with no outgoing calls: shared, never pushed to (an array per leaf request would be garbage). */
const NO_CALLS: string[] = [];

/**
 * One span's place in the trace graph while it is analysed. Nodes are pooled (see {@link nodesFor}): trace
 * analysis runs for every trace, and a fresh object graph per trace was most of the engine's garbage.
 * Every field is set in the constructor, so all nodes share one shape.
 */
class Node {
  span: Span = undefined as unknown as Span;
  /** The first `childCount` are this trace's; the array is the node's own, reused (never shrunk: that frees it). */
  readonly children: Node[] = [];
  childCount = 0;
  parent: Node | undefined = undefined;
  role: Role = 'internal';
  /** Whether an entry or call failed (false for internal spans: see {@link firstFailure}). */
  error = false;
  entry: EntryFact | undefined = undefined;
  call: CallFact | undefined = undefined;
  /** For calls: the callee's entry span answering it. */
  answer: Node | undefined = undefined;
  /** For entries: key of the first usual call the request did not make ({@link missingCallKey}), found once per trace. */
  missed: string | undefined = undefined;
  /** For entries that made calls: their operation's {@link CallShape}, which caches `missed`. */
  shape: CallShape | undefined = undefined;
  /** {@link breakCycles}' walk: 0 not seen, 1 on the current walk up, 2 reaches a root. */
  mark = 0;
  /** For a failed call its request retried: ms from its end to the retry's start (the backoff), see {@link selfTime}. */
  retryWait = 0;
}

/** Nodes reused from trace to trace (analysis never nests: the context's callbacks do not analyse). */
const pool: Node[] = [];
/**
 * Scratch for the depth-first walks (which never nest), used as a stack up to `top`, and for the outgoing
 * calls of one request. Indexed rather than emptied by `length = 0`, which would free their storage.
 */
const stack: Node[] = [];
let top = 0;
const outgoingScratch: Node[] = [];
/** The distinct callee keys of one request, before they are copied out at their exact size. */
const keysScratch: string[] = [];
/** Span id → index, for traces too large to scan for parents and links that come without their own index. */
const byIdScratch = new Map<string, number>();

/**
 * Facts reused from trace to trace: a trace's facts are read by the caller before it analyses the next
 * one, and an object per request and call was over a quarter of the engine's garbage.
 */
const entryPool: EntryFact[] = [];
const callPool: CallFact[] = [];
/** How many pooled facts the last trace filled: those past the next trace's are cleared, so the pool keeps at most one trace alive. */
let heldEntries = 0;
let heldCalls = 0;

/** Drops the references of the pooled facts the last trace filled beyond the next one's counts. */
function releaseFacts(entries: number, calls: number): void {
  const none = undefined as unknown as Span;
  for (let i = entries; i < heldEntries; i++) {
    const f = entryPool[i];
    f.span = none;
    f.learned = undefined;
    f.calls = NO_CALLS;
    f.errorOrigin = f.slowOrigin = f.shapeOrigin = undefined;
    f.message = f.failedIn = undefined;
  }
  for (let i = calls; i < heldCalls; i++) callPool[i].span = none;
  heldEntries = entries;
  heldCalls = calls;
}

/** A fact with every field set, so all facts share one shape whichever origins they get. */
function newEntryFact(): EntryFact {
  const none = undefined as unknown as Span;
  return { service: '', operation: '', key: '', learned: undefined, span: none, duration: 0, self: 0, selfKnown: true, error: false, calls: NO_CALLS, callTimes: [], queued: NaN, errorOrigin: undefined, message: undefined, failedIn: undefined, slowOrigin: undefined, shapeOrigin: undefined };
}

function newCallFact(): CallFact {
  const none = undefined as unknown as Span;
  return { callerService: '', callerKey: undefined, calleeService: '', calleeOperation: null, calleeKey: '', virtual: false, span: none, duration: 0, error: false, gaveUp: false, absorbed: false, consumerKey: undefined };
}

/** `n` pooled nodes for the spans of one trace (the pool's nodes are kept reset, see {@link releaseNodes}). */
function nodesFor(spans: readonly Span[]): Node[] {
  const n = spans.length;
  while (pool.length < n) pool.push(new Node());
  for (let i = 0; i < n; i++) pool[i].span = spans[i];
  return pool;
}

/** Resets the pooled nodes, dropping their references into the trace so the pool keeps no trace alive. */
function releaseNodes(n: number): void {
  for (let i = 0; i < n; i++) {
    const node = pool[i];
    node.span = undefined as unknown as Span;
    node.childCount = 0;
    node.parent = node.answer = undefined;
    node.role = 'internal';
    node.error = false;
    node.entry = undefined;
    node.call = undefined;
    node.missed = undefined;
    node.shape = undefined;
    node.mark = 0;
    node.retryWait = 0;
  }
}

/**
 * Turns one trace (or a fragment of one: a hung callee's span may arrive after its caller's trace was
 * processed) into per-request facts. Kinds missing from other tracers are inferred from cross-service links.
 * The facts are reused: they hold until the next call (copy what must outlive it).
 * `ids` (span id → index in `spans`, as the trace buffer keeps for large traces) saves building one here.
 */
export function analyzeTrace(spans: readonly Span[], ctx: TraceContext, ids?: ReadonlyMap<string, number>): { entries: EntryFact[]; calls: CallFact[] } {
  const n = spans.length;
  const nodes = nodesFor(spans);
  try {
    return analyzeNodes(nodes, n, ctx, ids);
  } finally {
    releaseNodes(n);
    // Kept through the analysis (a consumer's links are looked up in it too), then emptied: no ids kept alive.
    if (byIdScratch.size > 0) byIdScratch.clear();
  }
}

function analyzeNodes(nodes: readonly Node[], n: number, ctx: TraceContext, ids: ReadonlyMap<string, number> | undefined): { entries: EntryFact[]; calls: CallFact[] } {
  // Most traces are small: scanning for the parent beats hashing every span id into a Map.
  let byId = n > SCAN_IDS ? ids : undefined;
  if (byId === undefined && n > SCAN_IDS) {
    byIdScratch.clear();
    // As `new Map(entries)` did: of duplicate ids, the last one wins.
    for (let i = 0; i < n; i++) byIdScratch.set(nodes[i].span.spanId, i);
    byId = byIdScratch;
  }
  let orphans = 0;
  let strays = 0;
  for (let i = 0; i < n; i++) {
    const node = nodes[i];
    const pid = node.span.parentSpanId;
    const parent = pid ? nodeById(nodes, n, i, byId, pid) : undefined;
    if (parent !== undefined && parent !== node) {
      node.parent = parent;
      parent.children[parent.childCount++] = node;
      if (isStray(node)) strays++;
    } else if (pid) orphans++;
  }
  if (n > 1) breakCycles(nodes, n);
  if (orphans > 0 && n > 1) adoptOrphans(nodes, n);
  if (strays > 0) adoptStrays(nodes, n);
  let callCount = 0;
  let entryCount = 0;
  let graphql = false;
  for (let i = 0; i < n; i++) {
    const node = nodes[i];
    const role = roleOf(node);
    node.role = role;
    // An internal span's status is read only while a failure is traced down (see firstFailure).
    node.error = role !== 'internal' && isErrorSpan(node.span, role === 'call');
    if (role === 'call') callCount++;
    else if (role === 'entry') entryCount++;
    else if (!graphql) graphql = isGraphQLExecution(node.span);
  }
  const graphqlOperations = graphql ? graphqlRequests(nodes, n) : undefined;

  releaseFacts(entryCount, callCount);
  // Sized up front: pushing onto an empty array allocates room for 17.
  const entries: EntryFact[] = new Array(entryCount);
  const calls: CallFact[] = new Array(callCount);
  if (entryCount > 0) {
    let e = 0;
    for (let i = 0; i < n; i++) {
      const node = nodes[i];
      if (node.role !== 'entry') continue;
      const span = node.span;
      const graphqlOperation = graphqlOperations?.get(node);
      const operation = (graphqlOperation ? ctx.names.graphql(span.service, graphqlOperation.span) : undefined) ?? ctx.names.server(nestedServer(node) ?? span);
      const duration = span.endTime - span.startTime;
      const fact = (entryPool[e] ??= newEntryFact());
      fact.service = span.service;
      fact.operation = operation;
      fact.key = ctx.names.key(span.service, operation);
      fact.learned = ctx.operation(fact.key);
      fact.span = span;
      fact.duration = duration;
      fact.self = duration;
      fact.selfKnown = true;
      fact.error = node.error;
      fact.calls = NO_CALLS;
      fact.queued = span.kind === 'consumer' ? queuedFor(node, nodes, n, i, byId, ctx) : NaN;
      fact.errorOrigin = fact.slowOrigin = fact.shapeOrigin = undefined;
      fact.message = fact.failedIn = undefined;
      entries[e++] = node.entry = fact;
    }
  }
  if (callCount > 0) {
    let c = 0;
    for (let i = 0; i < n; i++) {
      const node = nodes[i];
      if (node.role === 'call') {
        calls[c] = node.call = callFact(node, ctx, (callPool[c] ??= newCallFact()));
        c++;
      }
    }
  }
  if (entryCount === 0) return { entries, calls };
  for (let i = 0; i < n; i++) {
    const node = nodes[i];
    const entry = node.entry;
    if (entry === undefined || node.childCount === 0) continue;
    const outgoing = outgoingScratch;
    const count = collectOutgoing(node, node.span.service, outgoing);
    if (count === 0) continue;
    // A linear scan: requests make few distinct calls, and a Set per request costs more.
    let distinct = 0;
    const times = entry.callTimes;
    for (let k = 0; k < count; k++) {
      const call = outgoing[k].call as CallFact;
      const key = call.calleeKey;
      // Failed attempts are not counted: a client retrying a failing callee is the callee's fault.
      const ok = call.error ? 0 : 1;
      let j = 0;
      while (j < distinct && keysScratch[j] !== key) j++;
      if (j < distinct) times[j] += ok;
      else {
        keysScratch[distinct] = key;
        times[distinct++] = ok;
      }
    }
    const shape = (node.shape = shapeOf(entry.key, distinct));
    entry.calls = shape !== undefined ? shape.calls : keysScratch.slice(0, distinct);
    entry.self = selfTime(node.span, outgoing, count);
  }
  // Created only for the rare trace with a request off its usual path.
  let missing: Set<Node> | undefined;
  for (let i = 0; i < n; i++) {
    const node = nodes[i];
    const entry = node.entry;
    if (entry === undefined) continue;
    // Kept on the node: the slow walk below asks again for every request under a slow one.
    const missed = (node.missed = missedOf(entry, node.shape));
    if (missed !== undefined) {
      // A long-poll whose client went away ends while its call to the backend waits on: 18 s of "own time".
      entry.selfKnown = false;
      if (!entry.error) (missing ??= new Set()).add(node);
    }
  }
  for (let i = 0; i < n; i++) {
    const node = nodes[i];
    const entry = node.entry;
    if (entry === undefined) continue;
    if (entry.error) {
      // First: a failure of the request's own work may be a connection its message names (see refusedCall).
      failureOf(entry, node);
      entry.errorOrigin = errorOrigin(node, node, ctx) ?? selfOrigin(entry, 'errors');
    }
    const typical = entry.learned?.typicalLatency();
    if (typical !== undefined && entry.duration > SLOW_FACTOR * typical) entry.slowOrigin = slowOrigin(node, ctx);
    if (missing?.has(node)) entry.shapeOrigin = divergenceOrigin(node, missing, ctx);
  }
  return { entries, calls };
}

/**
 * The last distinct-callee list of an operation: requests of an operation mostly make the same calls in
 * the same order, and then share one array instead of a copy each (never written after it is made), and
 * the first of the operation's usual calls that list lacks, found once per `usual` list rather than per
 * request.
 */
interface CallShape {
  calls: string[];
  /** The usual calls `missed` was found for; undefined until it is. */
  usual: readonly string[] | undefined;
  missed: string | undefined;
}

/** Operation key → its last {@link CallShape} (up to {@link CALL_SHAPES_MAX} operations). */
const callShapes = new Map<string, CallShape>();
const CALL_SHAPES_MAX = 4096;

/**
 * The shape of the first `count` keys of the scratch: the operation's last one when it holds the same;
 * undefined when the operation has none and there is no room for it.
 */
function shapeOf(key: string, count: number): CallShape | undefined {
  const last = callShapes.get(key);
  if (last !== undefined && last.calls.length === count) {
    let same = true;
    for (let i = 0; i < count && same; i++) same = last.calls[i] === keysScratch[i];
    if (same) return last;
  }
  if (last !== undefined) {
    last.calls = keysScratch.slice(0, count);
    last.usual = undefined;
    return last;
  }
  if (callShapes.size >= CALL_SHAPES_MAX) return undefined;
  const shape: CallShape = { calls: keysScratch.slice(0, count), usual: undefined, missed: undefined };
  callShapes.set(key, shape);
  return shape;
}

/** {@link missingCallKey}, from the request's call shape when it has one and it still holds its calls. */
function missedOf(entry: EntryFact, shape: CallShape | undefined): string | undefined {
  const usual = usualOf(entry);
  if (usual.length === 0) return undefined;
  if (shape === undefined || shape.calls !== entry.calls) return firstMissing(usual, entry.calls);
  if (shape.usual !== usual) {
    shape.usual = usual;
    shape.missed = firstMissing(usual, entry.calls);
  }
  return shape.missed;
}

/** The first usual call (issue 21: in flight, or lost) this request did not make, as a latency origin. */
function missingCall(entry: EntryFact): Origin | undefined {
  const key = missingCallKey(entry);
  return key === undefined ? undefined : missingCallOrigin(key);
}

/** Key of the first usual call the request did not make, if any. */
function missingCallKey(entry: EntryFact): string | undefined {
  return firstMissing(usualOf(entry), entry.calls);
}

/** The calls the request's operation almost always makes, once learned (empty before). */
function usualOf(entry: EntryFact): readonly string[] {
  return entry.learned?.usual ?? NO_CALLS;
}

/** Whether `ms` is far from the operation's learned latency (false while unlearned). */
function unusual(op: LearnedOperation | undefined, ms: number): boolean {
  return op !== undefined && op.unusualLatency(ms);
}

/** The first of `usual` not in `calls`. */
function firstMissing(usual: readonly string[], calls: readonly string[]): string | undefined {
  for (let i = 0; i < usual.length; i++) if (!calls.includes(usual[i])) return usual[i];
  return undefined;
}

/** Key of the first usual call to another service the request did not make, if any. */
function missingCalleeKey(entry: EntryFact): string | undefined {
  const usual = usualOf(entry);
  for (let i = 0; i < usual.length; i++) if (opKeyService(usual[i]) !== entry.service && !entry.calls.includes(usual[i])) return usual[i];
  return undefined;
}

/** A missing usual call as a latency origin. */
function missingCallOrigin(key: string): Origin {
  return { service: opKeyService(key), operation: opKeyOperation(key) || null, key, kind: 'latency' };
}

/**
 * Where a request that skipped a usual call left its usual path. A handler that stops part-way (an
 * exception or an early return the tracer recorded no status for) stops right after the call that went
 * wrong, so follow the chain of calls down from the request (at each level the latest call whose callee
 * itself diverged or failed, else the last call), and take the deepest operation on it that behaved
 * unusually: it skipped usual calls itself, failed, or answered in a time far from its own (an exception
 * usually answers fast). Not below a callee its caller's operation never called before: the path is new
 * there. When nothing below did, the request's own operation diverged. A skipped call to a
 * callee the service is giving up on right now is that callee's (see {@link skippedHungCall}).
 */
function divergenceOrigin(root: Node, missing: ReadonlySet<Node>, ctx: TraceContext): Origin {
  const own = root.entry as EntryFact;
  // Without a usual call its service is giving up on: the call hangs, unended (so in no trace), and the
  // request went on without it (a cache it falls back from).
  const hung = skippedHungCall(own, ctx);
  if (hung !== undefined) return { ...missingCallOrigin(hung), kind: 'shape' };
  // Calls its operation never made before, several of them, in place of the usual one, none failing: its
  // handler took a new path of its own (a GraphQL loader that stopped batching called catalog per item),
  // whatever those calls reached, even slow and without its usual call. A path taken after a failure (a
  // fallback, a compensation) is the failure's. One such call is stopped at in the chain below.
  if (newPath(root, own)) return selfOrigin(own, 'shape');
  // Slow and without its usual call: it was waiting on that call, still open when the request ended
  // (unless its callee answered others meanwhile).
  const skipped = own.duration > (own.learned?.typicalLatency() ?? Infinity) && unusual(own.learned, own.duration) ? missingCall(own) : undefined;
  const waited = skipped !== undefined && !answering(skipped.key, own, ctx) ? skipped : undefined;
  let best: Origin = waited !== undefined ? { ...waited, kind: 'shape' } : selfOrigin(own, 'shape');
  let cur: Node = root;
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    const count = collectOutgoing(cur, cur.span.service, outgoingScratch);
    const here = cur.entry as EntryFact;
    let last: Node | undefined;
    let diverged: Node | undefined;
    let unanswered = false;
    for (let k = 0; k < count; k++) {
      const c = outgoingScratch[k];
      if (last === undefined || c.span.endTime > last.span.endTime) last = c;
      const a = c.answer;
      const call = c.call as CallFact;
      // A callee that left its usual path or failed, wherever its call came: the handler may go on to
      // compensate (release a reservation) after it, so it need not be the last call.
      if (a !== undefined && (a.error || call.error || missing.has(a)) && (diverged === undefined || c.span.endTime > diverged.span.endTime)) diverged = c;
      unanswered ||= a === undefined && call.virtual && call.calleeService === here.service && !usualOf(here).includes(call.calleeKey);
    }
    // A call naming no peer that nothing answered, unusual for this operation, in place of a usual call to
    // another service the request skipped: it went to that service, which did not answer (down, refusing).
    const replaced = unanswered ? missingCalleeKey(here) : undefined;
    if (replaced !== undefined) return { ...missingCallOrigin(replaced), kind: 'shape' };
    if (diverged !== undefined) last = diverged;
    if (last === undefined) break;
    const call = last.call as CallFact;
    const answer = last.answer;
    // A call its operation never made before, answered without failing: the request took a new path here,
    // and what the callee did below has no usual to differ from (a gateway's per-item route, whose cache
    // lookups ran slow under the new load, was blamed for the gateway's change).
    if (diverged === undefined && here.learned?.newCallee(call.calleeKey) === true) break;
    if (answer === undefined) {
      if (call.error || unusual(ctx.operation(call.calleeKey), call.duration)) {
        best = { service: call.calleeService, operation: call.calleeOperation, key: call.calleeKey, kind: 'shape' };
      }
      break;
    }
    const e = answer.entry as EntryFact;
    if (answer.error || call.error || missing.has(answer) || unusual(e.learned, e.duration)) best = selfOrigin(e, 'shape');
    cur = answer;
  }
  return best;
}

/** Whether request `own` (at `root`) succeeded, called a callee its operation never called before more than once, and no call of it failed. */
function newPath(root: Node, own: EntryFact): boolean {
  const learned = own.learned;
  if (learned === undefined || own.error) return false;
  let repeated = false;
  for (let i = 0; i < own.calls.length && !repeated; i++) repeated = own.callTimes[i] > 1 && learned.newCallee(own.calls[i]);
  if (!repeated) return false;
  const count = collectOutgoing(root, root.span.service, outgoingScratch);
  for (let k = 0; k < count; k++) if ((outgoingScratch[k].call as CallFact).error || outgoingScratch[k].answer?.error) return false;
  return true;
}

/** Calls followed down by {@link divergenceOrigin}: deeper than any sane call chain. */
const MAX_CHAIN = 32;

/**
 * The node with span id `spanId`, other than node `i` (a span cannot be its own parent). Searched from
 * `i + 1` on, wrapping around: a service exports a request's spans as they end, children before parents,
 * so the parent mostly comes soon after. Ids are unique within a trace (the trace buffer drops duplicates).
 */
/** The node of span `spanId`: from `byId` (a large trace's index of ids) when given, else scanned for around node `i`. */
function nodeById(nodes: readonly Node[], n: number, i: number, byId: ReadonlyMap<string, number> | undefined, spanId: string): Node | undefined {
  if (byId === undefined) return findParent(nodes, n, i, spanId);
  const at = byId.get(spanId);
  return at === undefined ? undefined : nodes[at];
}

function findParent(nodes: readonly Node[], n: number, i: number, spanId: string): Node | undefined {
  for (let j = i + 1; j < n; j++) if (nodes[j].span.spanId === spanId) return nodes[j];
  for (let j = 0; j < i; j++) if (nodes[j].span.spanId === spanId) return nodes[j];
  return undefined;
}

function roleOf(node: Node): Role {
  const { span, parent } = node;
  switch (span.kind) {
    case 'server':
      return withinServer(node) ? 'internal' : 'entry';
    case 'consumer':
      return 'entry';
    case 'client':
    case 'producer':
      // A call made within a call of the same service is part of it (a query builder's statement under its
      // knex or mongoose span, an SDK's HTTP request, a retry's attempt): the caller waits on the outer one.
      // One started after it ended is a call of its own (a gRPC stream's handler calling on); one ending
      // just after it is not (instrumentation-pg ends its span after knex has its answer). A wait for a
      // pooled connection is a call of its own wherever it is made (see nestedPoolWait), and so is a name
      // lookup (an HTTP client resolving its host): the resolver's time is not the callee's.
      if (parent !== undefined && parent.span.service === span.service && isCallKind(parent.span) && span.startTime < parent.span.endTime && !nestedPoolWait(node, parent.span) && !isNameLookup(span)) return 'internal';
      // A statement that never got its connection (its pool wait failed, or was cut short by it) never
      // reached the database: the wait is the call.
      return node.childCount > 0 && neverConnected(node) ? 'internal' : 'call';
  }
  // Internal, or no kind (converted from another tracer): inferred from where the service boundaries are,
  // as some tracers record every span as internal. Only a span without a kind is taken for a call by its
  // attributes alone.
  // A root is a request (a job, a script), unless it only wraps the server span of one (Next.js's
  // `NextServer.getRequestHandler` with NEXT_OTEL_VERBOSE): that one is the request.
  if (!span.parentSpanId) return span.kind === 'internal' && wrapsEntry(node, span.service, 0) ? 'internal' : 'entry';
  if (parent !== undefined && parent.span.service !== span.service) return 'entry';
  const guessed = span.kind !== 'internal';
  // A request whose caller's spans are missing (late, or not recorded) still says it was served.
  if (guessed && parent === undefined && span.attributes !== undefined && isServedHttp(span.attributes)) return 'entry';
  for (let i = 0; i < node.childCount; i++) if (node.children[i].span.service !== span.service) return 'call';
  if (guessed && node.childCount === 0 && isCallLike(span)) return 'call';
  return 'internal';
}

/**
 * Whether a server span is nested in another server span of its service, through its internal spans: two
 * instrumentations of one request (Python's WSGI middleware around Flask's).
 * The outer one is the request, named as the inner one is (see {@link nestedServer}): one operation per
 * request, not two. A request the service sends itself has a client span in between.
 */
function withinServer(node: Node): boolean {
  const service = node.span.service;
  let cur = node.parent;
  for (let depth = 0; cur !== undefined && cur.span.service === service && depth <= MAX_WRAPPERS; depth++, cur = cur.parent) {
    if (cur.span.kind === 'server') return true;
    if (cur.span.kind !== 'internal') return false;
  }
  return false;
}

/**
 * The server span of its service nested in a route-less server span ({@link withinServer}), which names
 * the request: the inner instrumentation is the framework's, which knows the route (`GET /orders/<int:id>`
 * under WSGI's `GET /orders/123`); undefined when the span has a route or wraps no server span.
 */
function nestedServer(node: Node): Span | undefined {
  const span = node.span;
  if (span.kind !== 'server' || span.attributes?.['http.route'] !== undefined) return undefined;
  return serverUnder(node, span.service, 0);
}

function serverUnder(node: Node, service: string, depth: number): Span | undefined {
  for (let i = 0; i < node.childCount; i++) {
    const child = node.children[i];
    if (child.span.service !== service) continue;
    if (child.span.kind === 'server') return child.span;
    if (child.span.kind === 'internal' && depth < MAX_WRAPPERS) {
      const nested = serverUnder(child, service, depth + 1);
      if (nested !== undefined) return nested;
    }
  }
  return undefined;
}

/** Internal spans {@link wrapsEntry} looks through, down from a root. */
const MAX_WRAPPERS = 8;

/** Whether a server or consumer span of `service` is under `node`, through internal spans of `service`. */
function wrapsEntry(node: Node, service: string, depth: number): boolean {
  for (let i = 0; i < node.childCount; i++) {
    const child = node.children[i].span;
    if (child.service !== service) continue;
    if (child.kind === 'server' || child.kind === 'consumer') return true;
    if (child.kind === 'internal' && depth < MAX_WRAPPERS && wrapsEntry(node.children[i], service, depth + 1)) return true;
  }
  return false;
}

function isCallKind(span: Span): boolean {
  return span.kind === 'client' || span.kind === 'producer';
}

/**
 * Whether `child` is a wait for a pooled connection made within the call `call` of its service: an ORM's
 * statement span holding its driver's pool wait (Prisma's `db_query` over `pg-pool.connect`). The wait is
 * a call of its own, and is not the statement's latency: a pool saturated by one hung statement would
 * otherwise make every other statement look slow.
 */
function nestedPoolWait(child: Node, call: Span): boolean {
  const span = child.span;
  return span.service === call.service && isCallKind(span) && isPoolWait(span.name);
}

/** Whether a call's nested pool wait failed, or had not ended when the call did: the statement never ran. */
function neverConnected(node: Node): boolean {
  const span = node.span;
  for (let i = 0; i < node.childCount; i++) {
    const child = node.children[i];
    if (nestedPoolWait(child, span) && (isErrorSpan(child.span, true) || child.span.endTime >= span.endTime)) return true;
  }
  return false;
}

/**
 * Time (ms) the call `node` spent in the calls of its own nested in it (pool waits, name lookups), within its
 * own span: not the callee's time.
 */
function ownCallsWithin(node: Node): number {
  const span = node.span;
  let waited = 0;
  for (let i = 0; i < node.childCount; i++) {
    const child = node.children[i];
    if (nestedPoolWait(child, span) || (child.span.service === span.service && isNameLookup(child.span))) waited += Math.max(0, Math.min(child.span.endTime, span.endTime) - Math.max(child.span.startTime, span.startTime));
  }
  return waited;
}

/**
 * A leaf span with no kind is a call when its attributes name a peer, or when it is named for an RPC
 * to another service (`pkg.PaymentService/Charge` recorded by checkout) or as HTTP and database clients
 * name their spans (`POST`, `run: BEGIN`; see isCallName): the callee may have no spans.
 */
function isCallLike(span: Span): boolean {
  const a = span.attributes;
  if (a === undefined) return isRpcToOther(span) || isCallName(span.name);
  if (isServedHttp(a)) return false;
  return isDependencyCall(span) || a['peer.service'] !== undefined || a['server.address'] !== undefined || a['net.peer.name'] !== undefined || isRpcToOther(span) || isCallName(span.name);
}

/**
 * HTTP attributes only a server records: a route, or the path it was asked for without the URL a client
 * calls (`url.path`/`http.target` without `url.full`/`http.url`).
 */
function isServedHttp(a: Readonly<Record<string, AttributeValue>>): boolean {
  if (a['http.route'] !== undefined) return true;
  return (a['url.path'] !== undefined || a['http.target'] !== undefined) && a['url.full'] === undefined && a['http.url'] === undefined;
}

/** Fills `fact` (a pooled one) with the call `node` makes. */
function callFact(node: Node, ctx: TraceContext, fact: CallFact): CallFact {
  const span = node.span;
  node.answer = answerUnder(node, span.service, span.kind === 'producer');
  // A call that does not say how it ended ends as the last call nested in it did (Next.js's `fetch` span
  // over undici's, which has the answer's status).
  if (!node.error && node.childCount > 0 && !hasOutcome(span)) node.error = nestedFailed(node);
  const peer = peerName(span);
  const callName = ctx.names.callName(span, peer);
  const request = enclosingEntry(node);
  const callerKey = request?.entry?.key;
  let calleeService: string;
  let calleeOperation: string | null;
  let virtual = false;
  if (node.answer !== undefined) {
    calleeService = node.answer.span.service;
    calleeOperation = (node.answer.entry as EntryFact).operation;
    if (!isDependencyCall(span)) ctx.learnPeer(peer, callName, callerKey, calleeService, calleeOperation);
  } else {
    ({ service: calleeService, operation: calleeOperation, virtual } = unansweredCallee(span.service, peer, callName, callerKey, isDependencyCall(span), ctx));
  }
  const answer = node.answer;
  // An answer that ends after the caller stopped waiting means the caller gave up (clock skew allowance 5%),
  // unless the caller recorded the answer: then the callee's clock is ahead.
  const late = answer !== undefined && answer.span.endTime > span.endTime + Math.max(5, 0.05 * (span.endTime - span.startTime)) && !gotAnswer(span);
  // No answer from a service that answers when up: given up on, unless its host refused the connection.
  // A caller that says it timed out, with no answer recorded, gave up whenever the callee's span ended:
  // a server span ends when its client closes the socket, with the status set before the handler ran (201
  // from Nest), milliseconds after a timeout equal on both hops, and so looks answered in time.
  const gaveUp = node.error && (answer === undefined ? (!virtual && !looksRefused(span)) || looksLikeTimeout(span) : late || (looksLikeTimeout(span) && !gotAnswer(span)));
  fact.callerService = span.service;
  fact.callerKey = callerKey;
  fact.calleeService = calleeService;
  fact.calleeOperation = calleeOperation;
  fact.calleeKey = answer !== undefined ? (answer.entry as EntryFact).key : ctx.names.key(calleeService, calleeOperation ?? '');
  fact.virtual = virtual;
  fact.span = span;
  fact.duration = span.endTime - span.startTime - (node.childCount > 0 ? ownCallsWithin(node) : 0);
  fact.error = node.error;
  fact.gaveUp = gaveUp;
  fact.absorbed = node.error && request !== undefined && !request.error && (answer === undefined || answer.error);
  fact.consumerKey = span.kind === 'producer' ? consumerUnder(node) : undefined;
  if (answer !== undefined) {
    const allowance = netAllowance(fact.duration);
    // Ended well after its callee's span did: the answer's way back, or the caller too busy to read it.
    const late = span.endTime - answer.span.endTime - allowance;
    if (late >= LOOP_MIN_SHIFT_MS) ctx.noteLate(span.service, calleeService, fact.calleeKey, answer.span.endTime, span.endTime);
    if (span.kind !== 'producer') ctx.noteAnswer(span.service, span.endTime, late);
    // Begun well after the call was made, and not ended after it (a callee's clock ahead shifts both): the
    // callee read the request late. A message's consumer reads it when it comes to it.
    if (span.kind !== 'producer' && answer.span.startTime - span.startTime - allowance >= LOOP_MIN_SHIFT_MS && answer.span.endTime <= span.endTime + NET_ALLOWANCE_MS) {
      ctx.noteReadLate(calleeService, span.service, callerKey ?? span.service, span.startTime, answer.span.startTime);
    }
  }
  return fact;
}

/**
 * How long the message consumer `node` took waited in its queue (see EntryFact.queued): from its parent
 * producer span's end, that span in the trace or sent recently, else from the producer spans it links to
 * (see {@link linkedSent}), less a delayed job's delay; NaN when neither is a producer (a message whose
 * producer is not traced), or for a retry.
 */
function queuedFor(node: Node, nodes: readonly Node[], n: number, i: number, byId: ReadonlyMap<string, number> | undefined, ctx: TraceContext): number {
  const span = node.span;
  const a = span.attributes;
  // A retried job waited its backoff since it was sent, not the queue.
  if (a !== undefined && isRetry(a)) return NaN;
  const parent = node.parent?.span;
  let sent: number | undefined;
  if (parent !== undefined) sent = parent.kind === 'producer' ? parent.endTime : undefined;
  else if (span.parentSpanId) sent = ctx.sentAt(span.traceId, span.parentSpanId);
  if (sent === undefined && span.links !== undefined) sent = linkedSent(span, nodes, n, i, byId, ctx);
  if (sent === undefined) return NaN;
  // A delayed job was due that long after it was sent.
  const delay = Number(a?.['messaging.bullmq.job.delay']);
  // Hosts' clocks differ: a consumer that seems to start before its message was sent took it at once.
  return Math.max(0, span.startTime - sent - (delay > 0 ? delay : 0));
}

/**
 * A BullMQ job's attempt after its first: its own telemetry counts the attempt it is on (`attempts.made`,
 * `attempts_made` in its newer names), the community instrumentations the attempts made before it.
 */
function isRetry(a: Readonly<Record<string, AttributeValue>>): boolean {
  return Number(a['bullmq.job.attempts.made'] ?? a['bullmq.job.attempts_made']) > 1 || Number(a['messaging.bullmq.job.attempts']) > 0;
}

/**
 * When the message(s) of a consumer span whose producer is no parent were sent: from its links (see
 * Span.links) to producer spans in the trace or sent recently, the earliest (a batch waited as long as
 * its oldest message). Links are input: anything but `{ traceId, spanId }` strings is passed over. A link
 * into a large trace is looked up in its index of ids (`byId`), never scanned for: 2000 consumer spans of
 * 128 links each would scan a 2000-span trace half a billion times.
 */
function linkedSent(span: Span, nodes: readonly Node[], n: number, i: number, byId: ReadonlyMap<string, number> | undefined, ctx: TraceContext): number | undefined {
  const links = span.links;
  if (!Array.isArray(links)) return undefined;
  let sent: number | undefined;
  const count = Math.min(links.length, MAX_LINKS);
  for (let k = 0; k < count; k++) {
    const link = links[k] as Partial<SpanLink> | null;
    if (typeof link !== 'object' || link === null || typeof link.traceId !== 'string' || typeof link.spanId !== 'string') continue;
    let at: number | undefined;
    if (link.traceId === span.traceId) {
      const producer = nodeById(nodes, n, i, byId, link.spanId)?.span;
      at = producer?.kind === 'producer' ? producer.endTime : undefined;
    } else at = ctx.sentAt(link.traceId, link.spanId);
    if (at !== undefined && (sent === undefined || at < sent)) sent = at;
  }
  return sent;
}

/** Key of the consumer entry that handled the message sent at producer `node`, when it is in the trace. */
function consumerUnder(node: Node): string | undefined {
  for (let i = 0; i < node.childCount; i++) {
    const child = node.children[i];
    if (child.role === 'entry' && child.span.kind === 'consumer') return (child.entry as EntryFact).key;
  }
  return undefined;
}

/**
 * The entry that answered the call at `node`: a child entry of another service, or one recorded as a
 * server or consumer in the same service (a service calling itself, or a generator like telemetrygen
 * recording both ends as one), looking through the calls nested in it (see roleOf). A message is not an
 * answer (`sent`): its producer's call ends when the broker took it, and the consumer runs later, on its
 * own (a broker's instrumentation may still make it the producer span's child).
 */
function answerUnder(node: Node, service: string, sent: boolean): Node | undefined {
  for (let i = 0; i < node.childCount; i++) {
    const child = node.children[i];
    if (child.role === 'entry' && !(sent && child.span.kind === 'consumer') && (child.span.service !== service || child.span.kind === 'server' || child.span.kind === 'consumer')) return child;
    if (isNestedCall(child, service)) {
      const nested = answerUnder(child, service, sent || child.span.kind === 'producer');
      if (nested !== undefined) return nested;
    }
  }
  return undefined;
}

/** Whether `node` is a call of `service` made within one of its calls, and so part of it (see roleOf). */
function isNestedCall(node: Node, service: string): boolean {
  return node.role === 'internal' && node.span.service === service && isCallKind(node.span);
}

/** Whether the call nested in `node` that ended last (a client span within it, see roleOf) failed. */
function nestedFailed(node: Node): boolean {
  let last: Node | undefined;
  for (let i = 0; i < node.childCount; i++) {
    const child = node.children[i];
    if (isNestedCall(child, node.span.service) && (last === undefined || child.span.endTime > last.span.endTime)) last = child;
  }
  return last !== undefined && (isErrorSpan(last.span, true) || (!hasOutcome(last.span) && nestedFailed(last)));
}

/** The request (entry) whose local work `node` is part of (through internal spans), if in the trace. */
function enclosingEntry(node: Node): Node | undefined {
  for (let cur = node.parent; cur !== undefined && cur.span.service === node.span.service; cur = cur.parent) {
    if (cur.role === 'entry') return cur;
  }
  return undefined;
}

/**
 * Whether an internal span is a GraphQL operation's execution (OpenTelemetry's `graphql.operation.type`),
 * or a failed part of one (a resolver: `graphql.field.name`).
 */
function isGraphQLExecution(span: Span): boolean {
  return executesGraphQL(span) || (span.status === 'error' && span.attributes?.['graphql.field.name'] !== undefined);
}

/** Whether a span executes a GraphQL operation (`graphql.operation.type`): its span names the request. */
function executesGraphQL(span: Span): boolean {
  return span.attributes?.['graphql.operation.type'] !== undefined;
}

/**
 * The GraphQL requests of a trace: each request (entry node) → the span executing its operation, which
 * names it (null when it executed several: a batch keeps its HTTP name). A request whose operation or
 * resolver failed has failed, though GraphQL answers it with HTTP 200 and the errors in its body.
 */
function graphqlRequests(nodes: readonly Node[], n: number): Map<Node, Node | null> {
  const out = new Map<Node, Node | null>();
  for (let i = 0; i < n; i++) {
    const node = nodes[i];
    if (node.role !== 'internal' || !isGraphQLExecution(node.span)) continue;
    const request = enclosingEntry(node);
    if (request === undefined) continue;
    if (node.span.status === 'error') request.error = true;
    if (executesGraphQL(node.span)) out.set(request, out.has(request) ? null : node);
  }
  return out;
}

/** Orphans × requests in a trace past which {@link adoptOrphans} leaves its orphans be (a hostile trace). */
const ADOPT_BUDGET = 65_536;
const requestNodes: Node[] = [];

/**
 * A call or internal span whose parent is missing (not yet ended when its trace was released: a framework's
 * handler span that outlives the request, as `@fastify/otel`'s does when the client gives up and its pool
 * wait goes on) is part of the request of its service it started within: the latest-started one. Left a root,
 * the request lacked its call (a cache read made in 0.2 ms read as "stopped calling redis GET"), and its
 * wait was blamed on that call.
 */
function adoptOrphans(nodes: readonly Node[], n: number): void {
  let orphans = 0;
  requestNodes.length = 0;
  for (let i = 0; i < n; i++) {
    const kind = nodes[i].span.kind;
    if (kind === 'server' || kind === 'consumer') requestNodes.push(nodes[i]);
    else if (adoptable(nodes[i])) orphans++;
  }
  if (requestNodes.length > 0 && orphans > 0 && orphans * requestNodes.length <= ADOPT_BUDGET) {
    for (let i = 0; i < n; i++) {
      const node = nodes[i];
      if (!adoptable(node)) continue;
      const { span } = node;
      let home: Node | undefined;
      for (const r of requestNodes) {
        const rs = r.span;
        if (rs.service === span.service && rs.startTime <= span.startTime && span.startTime <= rs.endTime && (home === undefined || rs.startTime > home.span.startTime) && !descends(r, node)) home = r;
      }
      if (home !== undefined) {
        node.parent = home;
        home.children[home.childCount++] = node;
      }
    }
  }
  requestNodes.length = 0;
}

/**
 * A span of the callee's own under its caller's client span, beside the callee's server span there: that
 * server span's child, reported before it by a Zipkin tracer (B3 shared spans: the child names the shared
 * id, which only the server span, arriving later, tells apart from its client's). Moved under the server
 * span, the latest to start at or before it: left under the client, it made the callee's request all its
 * own time, and its calls the caller's (probe 13: a `catalog → catalog` edge of invented operations).
 */
function adoptStrays(nodes: readonly Node[], n: number): void {
  for (let i = 0; i < n; i++) {
    const node = nodes[i];
    if (!isStray(node)) continue;
    const client = node.parent as Node;
    const { span } = node;
    let home: Node | undefined;
    for (let c = 0; c < client.childCount; c++) {
      const r = client.children[c].span;
      if (r.kind === 'server' && r.service === span.service && r.startTime <= span.startTime && span.startTime <= r.endTime && (home === undefined || r.startTime > home.span.startTime)) home = client.children[c];
    }
    if (home === undefined) continue;
    let at = 0;
    while (client.children[at] !== node) at++;
    for (let c = at + 1; c < client.childCount; c++) client.children[c - 1] = client.children[c];
    client.childCount--;
    node.parent = home;
    home.children[home.childCount++] = node;
  }
}

/** Under a client span of another service, and no request of its own (see {@link adoptStrays}). */
function isStray(node: Node): boolean {
  const client = node.parent;
  return client !== undefined && client.span.kind === 'client' && client.span.service !== node.span.service && callOrInternal(node.span);
}

/** A call or internal span whose parent is missing: see {@link callOrInternal}. */
function adoptable(node: Node): boolean {
  return node.parent === undefined && callOrInternal(node.span);
}

/** A call or internal span with a parent id: not a request of its own, nor a span of no kind (guessed from its links). */
function callOrInternal(span: Span): boolean {
  return !!span.parentSpanId && span.kind !== undefined && span.kind !== 'server' && span.kind !== 'consumer';
}

/** Whether `node` is `ancestor` or below it. */
function descends(node: Node, ancestor: Node): boolean {
  for (let m: Node | undefined = node; m !== undefined; m = m.parent) if (m === ancestor) return true;
  return false;
}

/**
 * A buggy tracer can make spans each other's ancestors (a parent cycle). Each cycle is cut where the walk
 * up finds it closing: that span becomes a root, as if its parent were missing, so every walk up or down
 * the trace ends. Linear: each span is walked once.
 */
function breakCycles(nodes: readonly Node[], n: number): void {
  for (let i = 0; i < n; i++) {
    const start = nodes[i];
    if (start.mark !== 0) continue;
    let last: Node = start;
    let cur: Node | undefined = start;
    while (cur !== undefined && cur.mark === 0) {
      cur.mark = 1;
      last = cur;
      cur = cur.parent;
    }
    if (cur !== undefined && cur.mark === 1) {
      const kids = cur.children;
      const at = kids.indexOf(last);
      kids.copyWithin(at, at + 1, cur.childCount);
      cur.childCount--;
      last.parent = undefined;
    }
    for (let m: Node | undefined = start; m !== undefined && m.mark === 1; m = m.parent) m.mark = 2;
  }
}

/**
 * Outgoing calls made in a service's local work under `node` (through internal spans and the caller's
 * side of its calls, not into callees), in depth-first order, into `out` from index 0; returns how many.
 * Iterative: a chain of internal spans may be thousands deep.
 */
function collectOutgoing(node: Node, service: string, out: Node[]): number {
  let count = 0;
  top = 0;
  pushChildren(node);
  while (top > 0) {
    const child = stack[--top];
    if (child.span.service !== service) continue;
    if (child.role === 'call') {
      out[count++] = child;
      pushCallerSide(child);
    } else pushChildren(child);
  }
  return count;
}

/** Pushes `node`'s children on the scratch stack so that popping visits them in order. */
function pushChildren(node: Node): void {
  for (let i = node.childCount - 1; i >= 0; i--) stack[top++] = node.children[i];
}

/**
 * Pushes the caller's own spans under a call: a gRPC stream's or a callback client's handlers run in the
 * call's context, so the calls they make are the call span's children. Not requests (its answer is one,
 * also when a service calls itself).
 */
function pushCallerSide(call: Node): void {
  for (let i = call.childCount - 1; i >= 0; i--) {
    const child = call.children[i];
    if (child.role !== 'entry' && child.span.service === call.span.service) stack[top++] = child;
  }
}

/**
 * Duration minus the union of the first `count` outgoing call intervals clipped to the span: parallel
 * calls are not counted twice. Sorts them (in the caller's own scratch array) by start time. A failed call
 * whose next call, started after it ended, goes to the same callee was retried: the wait before the retry
 * (a client's backoff) is the failing callee's doing, not the request's own work, so the failed call counts
 * as waited on until its retry starts, and that wait is kept on it ({@link Node.retryWait}) for the slow walk.
 */
function selfTime(span: Span, outgoing: Node[], count: number): number {
  const from = span.startTime;
  const to = span.endTime;
  let waited = 0;
  if (count === 1) {
    const c = outgoing[0].span;
    waited = Math.max(0, Math.min(c.endTime, to) - Math.max(c.startTime, from));
  } else {
    sortByStart(outgoing, count);
    let curStart = -Infinity;
    let curEnd = -Infinity;
    for (let k = 0; k < count; k++) {
      const n = outgoing[k];
      const s = Math.max(n.span.startTime, from);
      const next = k + 1 < count ? outgoing[k + 1] : undefined;
      if (n.error && next !== undefined && next.span.startTime >= n.span.endTime && (next.call as CallFact).calleeKey === (n.call as CallFact).calleeKey) {
        n.retryWait = next.span.startTime - n.span.endTime;
      }
      const e = Math.min(n.span.endTime + n.retryWait, to);
      if (e <= s) continue;
      if (s > curEnd) {
        if (curEnd > curStart) waited += curEnd - curStart;
        curStart = s;
        curEnd = e;
      } else if (e > curEnd) {
        curEnd = e;
      }
    }
    if (curEnd > curStart) waited += curEnd - curStart;
  }
  return Math.max(0, to - from - waited);
}

/**
 * Sorts the first `count` nodes by span start, stably (as `Array.prototype.sort`, which copies the array
 * on every call): an insertion sort, as a request makes few calls; a merge of runs beyond that.
 */
function sortByStart(nodes: Node[], count: number): void {
  if (count > INSERTION_SORT_MAX) {
    const sorted = nodes.slice(0, count).sort((a, b) => a.span.startTime - b.span.startTime);
    for (let i = 0; i < count; i++) nodes[i] = sorted[i];
    return;
  }
  for (let i = 1; i < count; i++) {
    const x = nodes[i];
    const t = x.span.startTime;
    let j = i - 1;
    while (j >= 0 && nodes[j].span.startTime > t) {
      nodes[j + 1] = nodes[j];
      j--;
    }
    nodes[j + 1] = x;
  }
}

/** Outgoing calls of one request sorted by insertion; more go through `Array.prototype.sort`. */
const INSERTION_SORT_MAX = 64;

function selfOrigin(entry: EntryFact, kind: Origin['kind']): Origin {
  return { service: entry.service, operation: entry.operation, key: entry.key, kind };
}

/**
 * A failing request's error message (`message`): its entry span's, else the deepest one on the chain of
 * first failures below it in its own service (internal spans, and a call it made), short of another
 * service's request. Web frameworks record the exception on their handler's span, and the HTTP server span
 * only fails with its status code: without this, "catalog GET /products/:id error rate 96%" never said
 * "connect ECONNREFUSED 127.0.0.1:3307". When the chain ends in an internal span, not a call, the failure
 * started in the request's own code: `failedIn` names that span (a GraphQL resolver shared by several
 * queries was never named), its path's list indices as `*`.
 */
function failureOf(entry: EntryFact, node: Node): void {
  let message: string | undefined;
  let failedIn: string | undefined;
  for (let depth = 0; depth < MAX_MESSAGE_DEPTH; depth++) {
    const first = firstFailure(node);
    if (first === undefined || first.role === 'entry') break;
    message = errorMessage(first.span) ?? message;
    if (first.role === 'call') {
      failedIn = undefined;
      break;
    }
    failedIn = frameworkSpan(first.span, entry.span) ? undefined : first.span.name;
    node = first;
  }
  entry.message = errorMessage(entry.span) ?? message;
  entry.failedIn = failedIn?.replace(LIST_INDEX, '*');
}

/**
 * Whether internal span `span` is a framework's own span of request `entry`, which says no more than the
 * request's name: it carries a route (@fastify/otel's `request`), or its name ends with the request's
 * (Express's `request handler - /pay`).
 */
function frameworkSpan(span: Span, entry: Span): boolean {
  if (span.attributes?.['http.route'] !== undefined) return true;
  const route = entry.attributes?.['http.route'];
  return typeof route === 'string' && route !== '' && span.name.endsWith(route);
}

/** A list index in a dotted or slashed path (`cart.items.2.product.price`). */
const LIST_INDEX = /(?<=[./])\d+(?=[./]|$)/g;

/** Levels {@link failureOf} follows down at most (a malformed chain may be thousands deep). */
const MAX_MESSAGE_DEPTH = 64;

/**
 * The deepest failing span whose own children did not fail, following the first child to fail; `undefined`
 * means the failure is the enclosing request's own. Iterative (a failing chain may be thousands deep): each
 * level that follows a failure below keeps its own origin as the fallback if nothing deeper is found.
 */
function errorOrigin(start: Node, startEnclosing: Node | undefined, ctx: TraceContext): Origin | undefined {
  const fallbacks: Array<[Node, Node | undefined]> = [];
  let node = start;
  let enclosing = startEnclosing;
  let found: Origin | undefined;
  /** The callee given up on, while following what it was itself waiting on. */
  let givenUp: Origin | undefined;
  for (;;) {
    if (node.role === 'call') {
      const call = node.call as CallFact;
      const answer = node.answer;
      if (answer !== undefined && answer.error) {
        node = enclosing = answer;
        continue;
      }
      // A callee that turned the call away for want of capacity (429) failed it, though its span is no error.
      if (answer === undefined || call.gaveUp || answeredTooMany((answer.entry as EntryFact).span)) {
        found = { service: call.calleeService, operation: call.calleeOperation, key: call.calleeKey, kind: call.gaveUp ? 'timeout' : 'errors' };
        // Given up on while its request was failing below (waiting on a call given up on in turn: equal
        // timeouts down a chain): the trouble is further down, the callee given up on is the fallback.
        if (answer !== undefined && givenUp === undefined && firstFailure(answer) !== undefined) {
          givenUp = found;
          found = undefined;
          node = enclosing = answer;
          continue;
        }
      }
      break;
    }
    const first = firstFailure(node);
    if (first === undefined) {
      found = ownErrorOrigin(node, enclosing, ctx);
      break;
    }
    fallbacks.push([node, enclosing]);
    if (first.role === 'entry') enclosing = first;
    node = first;
  }
  if (found === undefined && givenUp !== undefined) return givenUp;
  const level = found === undefined ? fallbacks.pop() : undefined;
  return level !== undefined ? ownErrorOrigin(level[0], level[1], ctx) : found;
}

/**
 * A failure that starts in `node`'s own work: the enclosing request's operation, else the service; or the
 * callee of a usual call the request skipped while its service gets no answers from that callee.
 */
function ownErrorOrigin(node: Node, enclosing: Node | undefined, ctx: TraceContext): Origin {
  const entry = (enclosing ?? node).entry;
  if (entry === undefined) return { service: node.span.service, operation: null, key: opKey(node.span.service, ''), kind: 'errors' };
  const hung = skippedHungCall(entry, ctx);
  if (hung !== undefined) return { ...missingCallOrigin(hung), kind: 'timeout' };
  const gone = refusedCall(entry, ctx) ?? unavailableCall(entry, ctx);
  return gone !== undefined ? { ...missingCallOrigin(gone), kind: 'errors' } : selfOrigin(entry, 'errors');
}

/**
 * Key of the usual call the request did not make when it answered "unavailable" (HTTP 503, gRPC
 * UNAVAILABLE) and no call to that callee has been answered for {@link UNAVAILABLE_QUIET_MS} before the
 * request began, nor since. A service that knows a dependency is down fails fast without calling it:
 * amqplib's connection closed with the broker, and the handler answered 503 with no publish span, told as
 * the service's own errors though it stopped publishing at that moment. A callee still answering others, or
 * this service's other calls to it (a database answering its other statements), is no suspect: the 503 is
 * the service's own (shedding load before its router, a login's session query skipped with the rest).
 */
function unavailableCall(entry: EntryFact, ctx: TraceContext): string | undefined {
  if (!answeredUnavailable(entry.span)) return undefined;
  const quietSince = entry.span.startTime - UNAVAILABLE_QUIET_MS;
  return firstSkipped(entry, (key) => {
    const callee = ctx.operation(key);
    return callee !== undefined && callee.lastOkAt < quietSince && ctx.answeredAt(entry.service, opKeyService(key)) < quietSince ? key : undefined;
  });
}

/**
 * How long (ms) a callee must have answered nothing before an "unavailable" answer that skipped it is
 * its doing: traces are analysed as they complete, so a call that ended just before the request began
 * may be in a trace not analysed yet; a second covers that at any busy rate.
 */
const UNAVAILABLE_QUIET_MS = 1000;

/**
 * Key of the usual call to a peer the request did not make when its error is a connection to that peer's
 * address that failed (`connect ECONNREFUSED 127.0.0.1:3307`). A pooled driver that cannot connect fails the
 * query before it starts, and records no span of it (mysql2's pool): the database being down was told as
 * the service's own errors.
 */
function refusedCall(entry: EntryFact, ctx: TraceContext): string | undefined {
  const target = entry.message === undefined ? undefined : connectTarget(entry.message);
  if (target === undefined) return undefined;
  return firstSkipped(entry, (key) => {
    const address = ctx.operation(key)?.address;
    return address !== undefined && sameAddress(target, address) ? key : undefined;
  });
}

/**
 * The call its service is giving up on right now, on the callee of a usual call a request did not make
 * (the first such). A call that never ends is in no trace (amqplib's publish on a closed channel, a query
 * on a dead connection): the request failed on it, not in its own code; a request that never got to its
 * SELECT waited on the UPDATE that hangs, holding the connections (a query builder's pool has no spans). A
 * callee that answers is no suspect: a request failing before a call to it failed in its own code (or its
 * fault is injected there). Nor is one the request did not wait for: failing sooner than any call is taken
 * to hang ({@link IN_FLIGHT_MIN_MS}) with no call of its own left open, it failed in its own code (probe 16:
 * a save hook's errors, thrown at once while a lock held the table's INSERTs, were told as the lock's).
 */
function skippedHungCall(entry: EntryFact, ctx: TraceContext): string | undefined {
  if (entry.duration < IN_FLIGHT_MIN_MS && !ctx.hasOpenCall(entry.span.traceId)) return undefined;
  return firstSkipped(entry, (key) => ctx.givenUpCall(entry.service, key));
}

/** The first defined `pick(key)` over the keys of the usual calls the request did not make, in their order. */
function firstSkipped(entry: EntryFact, pick: (key: string) => string | undefined): string | undefined {
  const usual = usualOf(entry);
  for (let i = 0; i < usual.length; i++) {
    if (entry.calls.includes(usual[i])) continue;
    const found = pick(usual[i]);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The earliest-ending failing span under `node`, looking through internal spans of the same service that
 * did not fail themselves (framework middleware spans rarely carry the error of the call they wrap) and
 * through the caller's side of calls that did not fail (see {@link pushCallerSide}); the first in
 * depth-first order among equals. Iterative, like {@link collectOutgoing}.
 */
function firstFailure(node: Node): Node | undefined {
  const service = node.span.service;
  let first: Node | undefined;
  top = 0;
  pushChildren(node);
  while (top > 0) {
    const child = stack[--top];
    if (child.role === 'internal' ? isErrorSpan(child.span, false) : child.error) {
      if (first === undefined || child.span.endTime < first.span.endTime) first = child;
    } else if (child.span.service === service) {
      if (child.role === 'internal') pushChildren(child);
      else if (child.role === 'call') pushCallerSide(child);
    }
  }
  return first;
}

/**
 * Excess time per origin key while {@link slowOrigin} walks a request: parallel arrays in first-seen order
 * (scratch, reused), searched linearly, as a request's subtree holds few distinct operations. Each key
 * keeps the node it was first seen at and how to make its origin from it: only the winner's is made.
 * `unlearnedMs` is the time of the key's occurrences that have no typical time yet (a new or rare
 * operation), which has no excess to measure.
 */
const excessKeys: string[] = [];
const excessMs: number[] = [];
const unlearnedMs: number[] = [];
const excessNodes: Node[] = [];
/** Makes the origin of an excess from the node where its key was first seen. */
type MakeOrigin = (node: Node, key: string) => Origin;
const excessMakers: MakeOrigin[] = [];
let excessCount = 0;

/** Adds `ms` to `key`'s excess (`unlearned` to its time without a typical one); `make` makes the origin from the node where the key is first seen. */
function addExcess(key: string, ms: number, node: Node, make: MakeOrigin, unlearned = 0): void {
  for (let i = 0; i < excessCount; i++) {
    if (excessKeys[i] === key) {
      excessMs[i] += ms;
      unlearnedMs[i] += unlearned;
      return;
    }
  }
  excessKeys[excessCount] = key;
  excessMs[excessCount] = ms;
  unlearnedMs[excessCount] = unlearned;
  excessNodes[excessCount] = node;
  excessMakers[excessCount] = make;
  excessCount++;
}

function entryExcessOrigin(node: Node): Origin {
  return selfOrigin(node.entry as EntryFact, 'latency');
}

/**
 * The time a request spent in calls it made more often than usual (the N+1 detector's {@link MORE_RATIO}×
 * or more: a loop of queries where there was one), at the callees' typical latency, at most the request's
 * own excess: each call is as fast as ever, and the extra time is the caller's pattern (an N+1), not theirs.
 */
function extraCallsMs(e: EntryFact, ctx: TraceContext): number {
  const learned = e.learned;
  if (learned === undefined || e.calls.length === 0) return 0;
  let ms = 0;
  for (let i = 0; i < e.calls.length; i++) {
    const usual = learned.usualCalls(e.calls[i]);
    const made = e.callTimes[i];
    if (usual === undefined || !(made >= MORE_RATIO * usual)) continue;
    const typical = ctx.operation(e.calls[i])?.typicalLatency();
    if (typical !== undefined) ms += (made - usual) * typical;
  }
  const typical = learned.typicalLatency();
  return ms > 0 && typical !== undefined ? Math.min(ms, e.duration - typical) : 0;
}

function loopExcessOrigin(_node: Node, key: string): Origin {
  return { service: opKeyService(key), operation: EVENT_LOOP_OPERATION, key, kind: 'latency' };
}

/**
 * The share of a call's extra wait (`excess`, ms) its caller's own event loop took, held meanwhile (see
 * TraceContext.loopDelay), counted as the loop's: a process busy in every request ends each of its calls
 * late, and every database statement and callee it calls looked slow (PostgreSQL was named for a 200 ms
 * busy loop in each request of a NestJS service). Returns what it took.
 */
function loopShare(node: Node, excess: number, callee: string, ctx: TraceContext): number {
  return takeShare(node, excess, ctx.loopDelay(node.span.service, node.span.startTime, node.span.endTime, callee), loopExcessOrigin);
}

/** Counts up to `found.ms` of a call's `excess` against `found.key` (origin made by `origin`); returns what it took. */
function takeShare(node: Node, excess: number, found: { key: string; ms: number } | undefined, origin: MakeOrigin): number {
  if (found === undefined) return 0;
  const part = Math.min(excess, found.ms);
  addExcess(found.key, part, node, origin);
  return part;
}

/** The callee operation `key` itself: a usual call the request never made, or the statement a pool's wait waited for. */
function calleeKeyOrigin(_node: Node, key: string): Origin {
  return missingCallOrigin(key);
}

/**
 * The share of a wait for a pooled connection (`excess`, ms, beyond its typical) that a statement holding a
 * connection meanwhile took (see TraceContext.heldDuring), counted as that statement's: the pool fills
 * because its connections hang on something. Returns what it took.
 */
function heldShare(node: Node, c: CallFact, excess: number, ctx: TraceContext): number {
  return takeShare(node, excess, ctx.heldDuring(c.callerService, c.calleeService, c.span.startTime, c.span.endTime), calleeKeyOrigin);
}

/**
 * Whether traced operation `key` answered a request that ended after `entry` began: alive meanwhile, so
 * not what `entry` waited on when it never called it (a cart that hung before its usual call to a healthy
 * catalog named the catalog). A peer's calls say nothing of the calls not made.
 */
function answering(key: string, entry: EntryFact, ctx: TraceContext): boolean {
  const callee = ctx.operation(key);
  return callee !== undefined && callee.nodeType === 'service' && callee.lastOkAt > entry.span.startTime;
}

/** Key of the operation hanging behind one of the calls the request made, if its service is giving up on one. */
function hungCallee(entry: EntryFact, ctx: TraceContext): string | undefined {
  const calls = entry.calls;
  for (let i = 0; i < calls.length; i++) {
    const hung = ctx.givenUpCall(entry.service, calls[i]);
    if (hung !== undefined) return hung;
  }
  return undefined;
}

/** A request's wait on a call its service gives up on: a timeout of that call, as its callers see it. */
function hungExcessOrigin(_node: Node, key: string): Origin {
  return { ...missingCallOrigin(key), kind: 'timeout' };
}

function answerExcessOrigin(node: Node): Origin {
  return selfOrigin((node.answer as Node).entry as EntryFact, 'latency');
}

function callExcessOrigin(node: Node): Origin {
  const c = node.call as CallFact;
  return { service: c.calleeService, operation: c.calleeOperation, key: c.calleeKey, kind: c.gaveUp ? 'timeout' : 'latency' };
}

/** The operation in the request's subtree whose time grew most over its own typical time. */
function slowOrigin(root: Node, ctx: TraceContext): Origin {
  excessCount = 0;
  top = 0;
  stack[top++] = root;
  while (top > 0) {
    const node = stack[--top];
    if (node.entry !== undefined) {
      const e = node.entry;
      // Extra "self" time of a request that never made a usual call is time spent waiting on that call
      // (still in flight when the request ended: a hung database): the callee's, not the caller's.
      const missed = node.missed;
      const typical = e.learned?.typicalSelf();
      const ms = typical === undefined ? 0 : e.self - typical;
      // Waiting on a callee its service is giving up on, the wait is for what hangs there: for the call it
      // never made, or before a call it made late (a pool's queue, which has no span, draining).
      const hung = missed !== undefined ? ctx.givenUpCall(e.service, missed) : ms > 0 ? hungCallee(e, ctx) : undefined;
      if (hung !== undefined) addExcess(hung, ms, node, hungExcessOrigin);
      else if (missed !== undefined && !answering(missed, e, ctx)) addExcess(missed, ms, node, calleeKeyOrigin);
      else {
        // Served in the backlog a long hold of its service's loop left, its extra own time is the hold's.
        const held = ms > 0 ? ctx.heldLoop(e.service, e.span.startTime) : undefined;
        if (held !== undefined) addExcess(held, ms, node, loopExcessOrigin);
        else addExcess(e.key, ms, node, entryExcessOrigin, typical === undefined ? e.self : 0);
      }
      const extra = extraCallsMs(e, ctx);
      if (extra > 0) addExcess(e.key, extra, node, entryExcessOrigin);
    } else if (node.call !== undefined && node.answer !== undefined) {
      // Time between the caller's call and the callee's own span is the network's (or a delayed pod's):
      // the callee's side of it, as fault injectors delay a pod's packets.
      const a = node.answer.entry as EntryFact;
      const gap = node.call.duration - a.duration;
      const allowance = netAllowance(node.call.duration);
      if (gap > allowance) addExcess(a.key, gap - allowance - loopShare(node, gap - allowance, a.service, ctx), node, answerExcessOrigin);
      // The request's wait to retry the callee it failed on is the callee's too (see selfTime).
      if (node.retryWait > 0) addExcess(a.key, node.retryWait, node, answerExcessOrigin);
    } else if (node.call !== undefined && node.answer === undefined) {
      const c = node.call;
      // An unlearned callee adds no excess, unless the caller gave up on it: then all the wait is the callee's.
      const learned = ctx.operation(c.calleeKey)?.typicalLatency();
      const typical = learned ?? (c.gaveUp ? 0 : c.duration);
      let excess = c.duration - typical + node.retryWait;
      if (excess > 0 && learned !== undefined) {
        excess -= loopShare(node, excess, c.calleeService, ctx);
        // A wait for a pooled connection owes its extra to the statements holding the connections.
        if (c.virtual && isPoolWait(c.calleeOperation)) excess -= heldShare(node, c, excess, ctx);
      }
      addExcess(c.calleeKey, excess, node, callExcessOrigin, learned === undefined ? c.duration : 0);
    }
    for (let i = 0; i < node.childCount; i++) stack[top++] = node.children[i];
  }
  let best = -1;
  for (let i = 0; i < excessCount; i++) if (best < 0 || excessMs[i] > excessMs[best]) best = i;
  if (best < 0 || excessMs[best] <= 0) {
    // Nothing learned grew: the time went where there is no typical time to compare with, most likely to
    // the operation without one that took longest (a new statement, a rarely called endpoint).
    best = -1;
    for (let i = 0; i < excessCount; i++) if (unlearnedMs[i] > 0 && (best < 0 || unlearnedMs[i] > unlearnedMs[best])) best = i;
  }
  const origin = best >= 0 ? excessMakers[best](excessNodes[best], excessKeys[best]) : selfOrigin(root.entry as EntryFact, 'latency');
  // The scratch keeps no keys alive past the request (its nodes are the pool's); a loop, as `fill` costs a builtin call.
  for (let i = 0; i < excessCount; i++) excessKeys[i] = '';
  return origin;
}
