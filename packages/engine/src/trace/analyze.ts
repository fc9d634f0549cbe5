import type { Span } from '../types.js';
import {
  clientOperation,
  isDependencyCall,
  isErrorSpan,
  isRpcToOther,
  looksLikeTimeout,
  peerName,
  type OperationNames,
} from '../model/operation.js';
import { opKey, opKeyOperation, opKeyService } from '../keys.js';

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
  span: Span;
  duration: number;
  /** Duration minus the time spent waiting on outgoing calls (union of their intervals). */
  self: number;
  error: boolean;
  /** Keys of distinct callee operations this request called. */
  calls: string[];
  /** For failing requests: where the failure started. */
  errorOrigin?: Origin;
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
}

/** What trace analysis needs to know from what has been learned so far. */
export interface TraceContext {
  /** Interned operation names and keys. */
  names: OperationNames;
  /** Typical duration (ms) of an operation, if learned. */
  typicalLatency(key: string): number | undefined;
  /** Typical self time (ms) of an operation, if learned. */
  typicalSelf(key: string): number | undefined;
  /** Whether `ms` is far from the operation's learned latency, either way (false while unlearned). */
  unusualLatency(key: string, ms: number): boolean;
  /** Callee keys the operation almost always calls, once learned (empty before). */
  usualCalls(key: string): readonly string[];
  /**
   * The instrumented service behind a peer name, and the operation that calls named `callName` from the
   * caller operation `callerKey` reach (client spans are often named by method alone), if ever seen.
   */
  resolvePeer(peer: string, callName: string, callerKey: string | undefined): { service: string; operation: string | null } | undefined;
  /** Records that such calls to `peer` are answered by `service`'s `operation`. */
  learnPeer(peer: string, callName: string, callerKey: string | undefined, service: string, operation: string): void;
}

/** Requests slower than this multiple of their typical latency get a slow-origin analysis. */
const SLOW_FACTOR = 1.5;
/**
 * A call's duration beyond its answer's span up to this much (ms, or share of the call) is ordinary
 * network and clock skew between hosts; beyond it, the excess counts against the callee.
 */
const NET_ALLOWANCE_MS = 5;
const NET_ALLOWANCE_SHARE = 0.1;

type Role = 'entry' | 'call' | 'internal';

/** Shared by every leaf (most spans): an array per span would be garbage for nothing. Never pushed to. */
const NO_CHILDREN: Node[] = [];

interface Node {
  span: Span;
  children: Node[];
  parent: Node | undefined;
  role: Role;
  error: boolean;
  entry?: EntryFact;
  call?: CallFact;
  /** For calls: the callee's entry span answering it. */
  answer?: Node;
  /** {@link breakCycles}' walk: 0 not seen, 1 on the current walk up, 2 reaches a root. */
  mark: number;
}

/**
 * Turns one trace (or a fragment of one: a hung callee's span may arrive after its caller's trace was
 * processed) into per-request facts. Kinds missing from other tracers are inferred from cross-service links.
 */
export function analyzeTrace(spans: readonly Span[], ctx: TraceContext): { entries: EntryFact[]; calls: CallFact[] } {
  const nodes: Node[] = new Array(spans.length);
  for (let i = 0; i < spans.length; i++) {
    nodes[i] = { span: spans[i], children: NO_CHILDREN, parent: undefined, role: 'internal', error: false, mark: 0 };
  }
  // Most traces are small: scanning for the parent beats hashing every span id into a Map.
  const byId = spans.length > SCAN_PARENTS ? new Map(nodes.map((n) => [n.span.spanId, n])) : undefined;
  for (const node of nodes) {
    const pid = node.span.parentSpanId;
    const parent = pid ? (byId !== undefined ? byId.get(pid) : findNode(nodes, pid)) : undefined;
    if (parent !== undefined && parent !== node) {
      node.parent = parent;
      if (parent.children === NO_CHILDREN) parent.children = [node];
      else parent.children.push(node);
    }
  }
  breakCycles(nodes);
  for (const node of nodes) {
    node.role = roleOf(node);
    node.error = isErrorSpan(node.span, node.role === 'call');
  }

  const entries: EntryFact[] = [];
  const calls: CallFact[] = [];
  for (const node of nodes) {
    if (node.role === 'entry') {
      const span = node.span;
      const operation = ctx.names.server(span);
      node.entry = {
        service: span.service,
        operation,
        key: ctx.names.key(span.service, operation),
        span,
        duration: span.endTime - span.startTime,
        self: 0,
        error: node.error,
        calls: [],
      };
      entries.push(node.entry);
    }
  }
  for (const node of nodes) {
    if (node.role === 'call') calls.push((node.call = callFact(node, ctx)));
  }
  for (const node of nodes) {
    const entry = node.entry;
    if (entry === undefined) continue;
    if (node.children.length === 0) {
      entry.self = entry.duration;
      continue;
    }
    const outgoing: Node[] = [];
    collectOutgoing(node, node.span.service, outgoing);
    // A linear scan: requests make few distinct calls, and a Set per request costs more.
    for (const c of outgoing) {
      const key = (c.call as CallFact).calleeKey;
      if (!entry.calls.includes(key)) entry.calls.push(key);
    }
    entry.self = selfTime(node.span, outgoing);
  }
  // Created only for the rare trace with a request off its usual path.
  let missing: Set<Node> | undefined;
  for (const node of nodes) {
    const entry = node.entry;
    if (entry !== undefined && !entry.error && missesUsualCall(entry, ctx)) (missing ??= new Set()).add(node);
  }
  for (const node of nodes) {
    const entry = node.entry;
    if (entry === undefined) continue;
    if (entry.error) entry.errorOrigin = errorOrigin(node, node) ?? selfOrigin(entry, 'errors');
    const typical = ctx.typicalLatency(entry.key);
    if (typical !== undefined && entry.duration > SLOW_FACTOR * typical) entry.slowOrigin = slowOrigin(node, ctx);
    if (missing?.has(node)) entry.shapeOrigin = divergenceOrigin(node, missing, ctx);
  }
  return { entries, calls };
}

/** The first usual call (issue 21: in flight, or lost) this request did not make, as a latency origin. */
function missingCall(entry: EntryFact, ctx: TraceContext): Origin | undefined {
  const usual = ctx.usualCalls(entry.key);
  for (let i = 0; i < usual.length; i++) {
    const k = usual[i];
    if (!entry.calls.includes(k)) return { service: opKeyService(k), operation: opKeyOperation(k) || null, key: k, kind: 'latency' };
  }
  return undefined;
}

function missesUsualCall(entry: EntryFact, ctx: TraceContext): boolean {
  const usual = ctx.usualCalls(entry.key);
  for (let i = 0; i < usual.length; i++) if (!entry.calls.includes(usual[i])) return true;
  return false;
}

/**
 * Where a request that skipped a usual call left its usual path. A handler that stops part-way (an
 * exception or an early return the tracer recorded no status for) stops right after the call that went
 * wrong, so follow the chain of last calls down from the request, and take the deepest operation on it
 * that behaved unusually: it skipped usual calls itself, failed, or answered in a time far from its own
 * (an exception usually answers fast). When nothing below did, the request's own operation diverged.
 */
function divergenceOrigin(root: Node, missing: ReadonlySet<Node>, ctx: TraceContext): Origin {
  const own = root.entry as EntryFact;
  // Slow and without its usual call: it was waiting on that call, still open when the request ended.
  const waited = own.duration > (ctx.typicalLatency(own.key) ?? Infinity) && ctx.unusualLatency(own.key, own.duration) ? missingCall(own, ctx) : undefined;
  let best: Origin = waited !== undefined ? { ...waited, kind: 'shape' } : selfOrigin(own, 'shape');
  let cur: Node = root;
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    const outgoing: Node[] = [];
    collectOutgoing(cur, cur.span.service, outgoing);
    let last: Node | undefined;
    for (const c of outgoing) if (last === undefined || c.span.endTime > last.span.endTime) last = c;
    if (last === undefined) break;
    const call = last.call as CallFact;
    const answer = last.answer;
    if (answer === undefined) {
      if (call.error || ctx.unusualLatency(call.calleeKey, call.duration)) {
        best = { service: call.calleeService, operation: call.calleeOperation, key: call.calleeKey, kind: 'shape' };
      }
      break;
    }
    const e = answer.entry as EntryFact;
    if (answer.error || call.error || missing.has(answer) || ctx.unusualLatency(e.key, e.duration)) best = selfOrigin(e, 'shape');
    cur = answer;
  }
  return best;
}

/** Calls followed down by {@link divergenceOrigin}: deeper than any sane call chain. */
const MAX_CHAIN = 32;

/** Up to this many spans, parents are found by a linear scan. */
const SCAN_PARENTS = 16;

function findNode(nodes: readonly Node[], spanId: string): Node | undefined {
  for (let i = 0; i < nodes.length; i++) if (nodes[i].span.spanId === spanId) return nodes[i];
  return undefined;
}

function roleOf(node: Node): Role {
  const { span, parent } = node;
  switch (span.kind) {
    case 'server':
    case 'consumer':
      return 'entry';
    case 'client':
    case 'producer':
      return 'call';
    case 'internal':
      return span.parentSpanId ? 'internal' : 'entry';
  }
  // No kind (converted from another tracer): infer from where the service boundaries are.
  if (!span.parentSpanId) return 'entry';
  if (parent !== undefined && parent.span.service !== span.service) return 'entry';
  for (const child of node.children) if (child.span.service !== span.service) return 'call';
  if (node.children.length === 0 && isCallLike(span)) return 'call';
  return 'internal';
}

/**
 * A leaf span with no kind is a call when its attributes name a peer, or when it is named for an RPC
 * to another service (`pkg.PaymentService/Charge` recorded by checkout): the callee may have no spans.
 */
function isCallLike(span: Span): boolean {
  const a = span.attributes;
  if (a === undefined) return isRpcToOther(span);
  return isDependencyCall(span) || a['peer.service'] !== undefined || a['server.address'] !== undefined || a['net.peer.name'] !== undefined || isRpcToOther(span);
}

function callFact(node: Node, ctx: TraceContext): CallFact {
  const span = node.span;
  for (const child of node.children) {
    if (child.role === 'entry' && child.span.service !== span.service) {
      node.answer = child;
      break;
    }
  }
  const peer = peerName(span);
  const callName = clientOperation(span);
  const callerKey = enclosingEntryKey(node);
  let calleeService: string;
  let calleeOperation: string | null;
  let virtual = false;
  if (node.answer !== undefined) {
    calleeService = node.answer.span.service;
    calleeOperation = (node.answer.entry as EntryFact).operation;
    if (!isDependencyCall(span)) ctx.learnPeer(peer, callName, callerKey, calleeService, calleeOperation);
  } else {
    const known = isDependencyCall(span) ? undefined : ctx.resolvePeer(peer, callName, callerKey);
    if (known !== undefined) {
      calleeService = known.service;
      calleeOperation = known.operation;
    } else {
      calleeService = peer;
      calleeOperation = callName;
      virtual = true;
    }
  }
  const answer = node.answer;
  // An answer that ends after the caller stopped waiting means the caller gave up (clock skew allowance 5%).
  const late = answer !== undefined && answer.span.endTime > span.endTime + Math.max(5, 0.05 * (span.endTime - span.startTime));
  const gaveUp = node.error && (answer === undefined ? !virtual || looksLikeTimeout(span) : late);
  return {
    callerService: span.service,
    callerKey,
    calleeService,
    calleeOperation,
    calleeKey: node.answer !== undefined ? (node.answer.entry as EntryFact).key : ctx.names.key(calleeService, calleeOperation ?? ''),
    virtual,
    span,
    duration: span.endTime - span.startTime,
    error: node.error,
    gaveUp,
  };
}

/** Key of the entry operation whose local work made this call (through internal spans), if in the trace. */
function enclosingEntryKey(node: Node): string | undefined {
  for (let cur = node.parent; cur !== undefined && cur.span.service === node.span.service; cur = cur.parent) {
    if (cur.entry !== undefined) return cur.entry.key;
  }
  return undefined;
}

/**
 * A buggy tracer can make spans each other's ancestors (a parent cycle). Each cycle is cut where the walk
 * up finds it closing: that span becomes a root, as if its parent were missing, so every walk up or down
 * the trace ends. Linear: each span is walked once.
 */
function breakCycles(nodes: readonly Node[]): void {
  for (const start of nodes) {
    if (start.mark !== 0) continue;
    let last: Node = start;
    let cur: Node | undefined = start;
    while (cur !== undefined && cur.mark === 0) {
      cur.mark = 1;
      last = cur;
      cur = cur.parent;
    }
    if (cur !== undefined && cur.mark === 1) {
      cur.children.splice(cur.children.indexOf(last), 1);
      last.parent = undefined;
    }
    for (let n: Node | undefined = start; n !== undefined && n.mark === 1; n = n.parent) n.mark = 2;
  }
}

/**
 * Outgoing calls made in a service's local work under `node` (through internal spans, not into callees),
 * in depth-first order. Iterative: a chain of internal spans may be thousands deep.
 */
function collectOutgoing(node: Node, service: string, out: Node[]): void {
  const stack: Node[] = [];
  pushChildren(stack, node);
  while (stack.length > 0) {
    const child = stack.pop() as Node;
    if (child.span.service !== service) continue;
    if (child.role === 'call') out.push(child);
    else pushChildren(stack, child);
  }
}

/** Pushes `node`'s children so that popping visits them in order. */
function pushChildren(stack: Node[], node: Node): void {
  for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]);
}

/**
 * Duration minus the union of outgoing call intervals clipped to the span: parallel calls are not counted
 * twice. Sorts `outgoing` (the caller's own scratch array) by start time.
 */
function selfTime(span: Span, outgoing: Node[]): number {
  const from = span.startTime;
  const to = span.endTime;
  let waited = 0;
  if (outgoing.length === 1) {
    const c = outgoing[0].span;
    waited = Math.max(0, Math.min(c.endTime, to) - Math.max(c.startTime, from));
  } else {
    outgoing.sort((a, b) => a.span.startTime - b.span.startTime);
    let curStart = -Infinity;
    let curEnd = -Infinity;
    for (const n of outgoing) {
      const s = Math.max(n.span.startTime, from);
      const e = Math.min(n.span.endTime, to);
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

function selfOrigin(entry: EntryFact, kind: Origin['kind']): Origin {
  return { service: entry.service, operation: entry.operation, key: entry.key, kind };
}

/**
 * The deepest failing span whose own children did not fail, following the first child to fail; `undefined`
 * means the failure is the enclosing request's own. Iterative (a failing chain may be thousands deep): each
 * level that follows a failure below keeps its own origin as the fallback if nothing deeper is found.
 */
function errorOrigin(start: Node, startEnclosing: Node | undefined): Origin | undefined {
  const fallbacks: Array<[Node, Node | undefined]> = [];
  let node = start;
  let enclosing = startEnclosing;
  let found: Origin | undefined;
  for (;;) {
    if (node.role === 'call') {
      const call = node.call as CallFact;
      const answer = node.answer;
      if (answer !== undefined && answer.error) {
        node = enclosing = answer;
        continue;
      }
      if (answer === undefined || call.gaveUp) {
        found = { service: call.calleeService, operation: call.calleeOperation, key: call.calleeKey, kind: call.gaveUp ? 'timeout' : 'errors' };
      }
      break;
    }
    const first = firstFailure(node);
    if (first === undefined) {
      found = ownErrorOrigin(node, enclosing);
      break;
    }
    fallbacks.push([node, enclosing]);
    if (first.role === 'entry') enclosing = first;
    node = first;
  }
  const level = found === undefined ? fallbacks.pop() : undefined;
  return level !== undefined ? ownErrorOrigin(level[0], level[1]) : found;
}

/** A failure that starts in `node`'s own work: the enclosing request's operation, else the service. */
function ownErrorOrigin(node: Node, enclosing: Node | undefined): Origin {
  const entry = (enclosing ?? node).entry;
  if (entry !== undefined) return selfOrigin(entry, 'errors');
  return { service: node.span.service, operation: null, key: opKey(node.span.service, ''), kind: 'errors' };
}

/**
 * The earliest-ending failing span under `node`, looking through internal spans of the same service that
 * did not fail themselves (framework middleware spans rarely carry the error of the call they wrap); the
 * first in depth-first order among equals. Iterative, like {@link collectOutgoing}.
 */
function firstFailure(node: Node): Node | undefined {
  const service = node.span.service;
  let first: Node | undefined;
  const stack: Node[] = [];
  pushChildren(stack, node);
  while (stack.length > 0) {
    const child = stack.pop() as Node;
    if (child.error) {
      if (first === undefined || child.span.endTime < first.span.endTime) first = child;
    } else if (child.role === 'internal' && child.span.service === service) {
      pushChildren(stack, child);
    }
  }
  return first;
}

/** The operation in the request's subtree whose time grew most over its own typical time. */
function slowOrigin(root: Node, ctx: TraceContext): Origin {
  const excess = new Map<string, { origin: Origin; ms: number }>();
  const add = (origin: Origin, ms: number): void => {
    const cur = excess.get(origin.key);
    if (cur) cur.ms += ms;
    else excess.set(origin.key, { origin, ms });
  };
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as Node;
    if (node.entry !== undefined) {
      const e = node.entry;
      // Extra "self" time of a request that never made a usual call is time spent waiting on that call
      // (still in flight when the request ended: a hung database): the callee's, not the caller's.
      add(missingCall(e, ctx) ?? selfOrigin(e, 'latency'), e.self - (ctx.typicalSelf(e.key) ?? e.self));
    } else if (node.call !== undefined && node.answer !== undefined) {
      // Time between the caller's call and the callee's own span is the network's (or a delayed pod's):
      // the callee's side of it, as fault injectors delay a pod's packets.
      const a = node.answer.entry as EntryFact;
      const gap = node.call.duration - a.duration;
      const allowance = Math.max(NET_ALLOWANCE_MS, NET_ALLOWANCE_SHARE * node.call.duration);
      if (gap > allowance) add(selfOrigin(a, 'latency'), gap - allowance);
    } else if (node.call !== undefined && node.answer === undefined) {
      const c = node.call;
      const kind = c.gaveUp ? 'timeout' : 'latency';
      // An unlearned callee adds nothing, unless the caller gave up on it: then all the wait is the callee's.
      const typical = ctx.typicalLatency(c.calleeKey) ?? (c.gaveUp ? 0 : c.duration);
      add({ service: c.calleeService, operation: c.calleeOperation, key: c.calleeKey, kind }, c.duration - typical);
    }
    for (const child of node.children) stack.push(child);
  }
  let best: { origin: Origin; ms: number } | undefined;
  for (const v of excess.values()) if (best === undefined || v.ms > best.ms) best = v;
  const entry = root.entry as EntryFact;
  return best !== undefined && best.ms > 0 ? best.origin : selfOrigin(entry, 'latency');
}
