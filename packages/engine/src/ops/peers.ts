import type { PeerSnapshot } from '../types.js';
import { peerCallKey, splitPeerCallKey } from '../keys.js';
import { UNKNOWN_PEER } from '../model/operation.js';

/** Call names remembered per peer. */
export const MAX_CALL_NAMES_PER_PEER = 1000;

/**
 * The instrumented service behind a peer name, and which of its operations calls by a given name reach:
 * by name alone, and by name from each calling operation (nested, so the hot path builds no key strings).
 */
interface Peer {
  service: string;
  calls: Map<string, string>;
  byCaller: Map<string, Map<string, string>>;
  /** Mappings held in all, for the per-peer bound. */
  size: number;
  /**
   * The last mapping learned: learning it again changes nothing (every other one replaces it), and calls
   * to a peer mostly repeat, so that costs no Map lookup.
   */
  lastName: string;
  lastCaller: string | undefined;
  /** Undefined until a mapping is learned. */
  lastOperation: string | undefined;
}

/**
 * Which instrumented service answers client calls to a peer name (`host:port`, `peer.service`), learned
 * from traces where both sides are seen, so a call whose answer is missing from its trace still reaches
 * the right operation. Bounded: at most `maxPeers` peers, {@link MAX_CALL_NAMES_PER_PEER} names each.
 */
export class PeerTable {
  private readonly peers = new Map<string, Peer>();
  /**
   * Calls that name no peer ({@link UNKNOWN_PEER}: tracers without attributes, `POST`) by calling operation
   * → call name → the one operation that answered them; null once two different ones did (a handler
   * making `POST` calls to several services), as then the name alone cannot tell which one a call reached.
   */
  private readonly unnamed = new Map<string, Map<string, { service: string; operation: string } | null>>();
  private unnamedSize = 0;

  constructor(private readonly maxPeers: number) {}

  get size(): number {
    return this.peers.size;
  }

  /** The service behind `peer` and the operation calls named `callName` from `callerKey` reach, if known. */
  resolve(peer: string, callName: string, callerKey: string | undefined): { service: string; operation: string | null } | undefined {
    if (peer === UNKNOWN_PEER) return callerKey !== undefined ? this.unnamed.get(callerKey)?.get(callName) ?? undefined : undefined;
    const p = this.peers.get(peer);
    if (p === undefined) return undefined;
    // The caller's own history first; the call name alone is ambiguous when several callers use it.
    const operation = (callerKey !== undefined ? p.byCaller.get(callerKey)?.get(callName) : undefined) ?? p.calls.get(callName);
    return { service: p.service, operation: operation ?? null };
  }

  /**
   * Records that calls to `peer` named `callName` (from `callerKey`) are answered by `service`'s `operation`.
   * Returns true when `peer` was not known to be answered by `service` before.
   */
  learn(peer: string, callName: string, callerKey: string | undefined, service: string, operation: string): boolean {
    if (peer === UNKNOWN_PEER) return callerKey !== undefined && this.learnUnnamed(callerKey, callName, service, operation);
    let p = this.peers.get(peer);
    let fresh = false;
    if (p === undefined || p.service !== service) {
      // A peer now answered by another service starts afresh; a new peer waits for room.
      if (p === undefined && this.peers.size >= this.maxPeers) return false;
      p = newPeer(service);
      this.peers.set(peer, p);
      fresh = true;
    } else if (p.lastName === callName && p.lastCaller === callerKey && p.lastOperation === operation) return false;
    p.lastName = callName;
    p.lastCaller = callerKey;
    p.lastOperation = operation;
    remember(p, p.calls, callName, operation);
    if (callerKey !== undefined) rememberFrom(p, callerKey, callName, operation);
    return fresh;
  }

  /** {@link learn} for a call naming no peer, within the same per-peer bound; true when first learned. */
  private learnUnnamed(callerKey: string, callName: string, service: string, operation: string): boolean {
    let mine = this.unnamed.get(callerKey);
    const cur = mine?.get(callName);
    if (cur === null || (cur !== undefined && cur.service === service && cur.operation === operation)) return false;
    if (cur !== undefined) {
      mine?.set(callName, null);
      return false;
    }
    if (this.unnamedSize >= MAX_CALL_NAMES_PER_PEER) return false;
    if (mine === undefined) this.unnamed.set(callerKey, (mine = new Map()));
    mine.set(callName, { service, operation });
    this.unnamedSize++;
    return true;
  }

  /**
   * Named peers, then the calls naming no peer as {@link UNKNOWN_PEER} entries, one per answering service.
   * A call name found ambiguous is left out: it is learned again from the next two different answers.
   */
  toJSON(): PeerSnapshot[] {
    const out = [...this.peers].map(([peer, p]) => {
      const calls = [...p.calls];
      for (const [caller, mine] of p.byCaller) for (const [name, op] of mine) calls.push([peerCallKey(caller, name), op]);
      return { peer, service: p.service, calls };
    });
    const byService = new Map<string, Array<[string, string]>>();
    for (const [caller, mine] of this.unnamed) {
      for (const [name, to] of mine) {
        if (to === null) continue;
        let calls = byService.get(to.service);
        if (calls === undefined) byService.set(to.service, (calls = []));
        calls.push([peerCallKey(caller, name), to.operation]);
      }
    }
    for (const [service, calls] of byService) out.push({ peer: UNKNOWN_PEER, service, calls });
    return out;
  }

  /** A table holding a snapshot's peers. */
  static fromJSON(peers: readonly PeerSnapshot[], maxPeers: number): PeerTable {
    const table = new PeerTable(maxPeers);
    for (const { peer, service, calls } of peers) {
      if (peer === UNKNOWN_PEER) {
        for (const [key, op] of calls) {
          const [caller, name] = splitPeerCallKey(key);
          if (caller !== undefined) table.learnUnnamed(caller, name, service, op);
        }
        continue;
      }
      const p = newPeer(service);
      for (const [key, op] of calls) {
        const [caller, name] = splitPeerCallKey(key);
        if (caller === undefined) remember(p, p.calls, name, op);
        else rememberFrom(p, caller, name, op);
      }
      table.peers.set(peer, p);
    }
    return table;
  }
}

function newPeer(service: string): Peer {
  return { service, calls: new Map(), byCaller: new Map(), size: 0, lastName: '', lastCaller: undefined, lastOperation: undefined };
}

/** {@link remember} for calls made from the caller operation `callerKey`. */
function rememberFrom(peer: Peer, callerKey: string, name: string, operation: string): void {
  let mine = peer.byCaller.get(callerKey);
  if (mine === undefined) peer.byCaller.set(callerKey, (mine = new Map()));
  remember(peer, mine, name, operation);
}

/** Sets a call-name mapping only when it changes, within the per-peer bound. */
function remember(peer: Peer, calls: Map<string, string>, name: string, operation: string): void {
  const cur = calls.get(name);
  if (cur === operation) return;
  if (cur !== undefined) calls.set(name, operation);
  else if (peer.size < MAX_CALL_NAMES_PER_PEER) {
    calls.set(name, operation);
    peer.size++;
  }
}

/**
 * Span names of outgoing calls by the naming conventions of HTTP clients (`GET`, `POST /orders`,
 * `HTTP GET`, Zipkin's `get`; a method in lower case only alone or before a path, as `delete cache` is
 * no HTTP call) and of database clients (`SELECT orders`, `run: BEGIN`: a statement keyword, upper-case
 * as OpenTelemetry's DB span names put it, possibly after the client's method). A tracer that records
 * neither span kind nor attributes still names its calls so.
 */
const HTTP_CALL_NAME = /^(?:HTTP )?(?:GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS|CONNECT|TRACE)(?: \S+)?$/;
const HTTP_CALL_NAME_ANY_CASE = /^(?:http )?(?:get|head|post|put|delete|patch|options)(?: \/\S*)?$/i;
const DB_CALL_NAME = /^(?:[A-Za-z_][\w.-]*:? )?(?:SELECT|INSERT|UPDATE|DELETE|UPSERT|MERGE|REPLACE|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|CREATE|ALTER|DROP|TRUNCATE|PRAGMA|WITH|CALL|EXEC|EXECUTE)(?: |$)/;

/** Whether a span name is an outgoing call's by the HTTP or database clients' naming conventions. */
export function isCallName(name: string): boolean {
  return HTTP_CALL_NAME.test(name) || HTTP_CALL_NAME_ANY_CASE.test(name) || DB_CALL_NAME.test(name);
}

/** What resolves a peer name as {@link PeerTable.resolve} does (the trace context does). */
export interface PeerResolver {
  resolvePeer(peer: string, callName: string, callerKey: string | undefined): { service: string; operation: string | null } | undefined;
}

/**
 * The callee of a call whose answer is not in its trace: the instrumented service learned behind its peer
 * (not for databases and queues, `dependency`, which no service answers) and the operation calls named
 * `callName` reach, else the peer itself, virtual, as `callName` (the path an HTTP call called, `GET
 * /reviews/:id`, else the call's {@link clientOperation}): seen from outside, a peer's operations are the
 * calls that reach it.
 * A call that names no peer at all (a tracer without attributes: `POST`, `run: BEGIN`) resolves only when
 * its calling operation's calls of that name always reached one operation; else it stays on its caller,
 * under the call's name: nothing in the trace says whom it reached, and the calls of different services
 * to unnamed peers must not become one node. The object returned is reused by the next call.
 */
export function unansweredCallee(
  callerService: string,
  peer: string,
  callName: string,
  callerKey: string | undefined,
  dependency: boolean,
  peers: PeerResolver,
): Readonly<Callee> {
  const known = dependency ? undefined : peers.resolvePeer(peer, callName, callerKey);
  const out = calleeScratch;
  out.service = known !== undefined ? known.service : peer === UNKNOWN_PEER ? callerService : peer;
  out.operation = known !== undefined ? known.operation : callName;
  out.virtual = known === undefined;
  return out;
}

/** {@link unansweredCallee}'s answer, reused: it runs for every database call, and its callers copy it out at once. */
const calleeScratch: Callee = { service: '', operation: null, virtual: false };

/** Whom a call reached, as {@link unansweredCallee} names it. */
export interface Callee {
  service: string;
  operation: string | null;
  virtual: boolean;
}
