import type { PeerSnapshot } from '../types.js';
import { peerCallKey, splitPeerCallKey } from '../keys.js';

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
}

/**
 * Which instrumented service answers client calls to a peer name (`host:port`, `peer.service`), learned
 * from traces where both sides are seen, so a call whose answer is missing from its trace still reaches
 * the right operation. Bounded: at most `maxPeers` peers, {@link MAX_CALL_NAMES_PER_PEER} names each.
 */
export class PeerTable {
  private readonly peers = new Map<string, Peer>();

  constructor(private readonly maxPeers: number) {}

  get size(): number {
    return this.peers.size;
  }

  /** The service behind `peer` and the operation calls named `callName` from `callerKey` reach, if known. */
  resolve(peer: string, callName: string, callerKey: string | undefined): { service: string; operation: string | null } | undefined {
    const p = this.peers.get(peer);
    if (p === undefined) return undefined;
    // The caller's own history first; the call name alone is ambiguous when several callers use it.
    const operation = (callerKey !== undefined ? p.byCaller.get(callerKey)?.get(callName) : undefined) ?? p.calls.get(callName);
    return { service: p.service, operation: operation ?? null };
  }

  /** Records that calls to `peer` named `callName` (from `callerKey`) are answered by `service`'s `operation`. */
  learn(peer: string, callName: string, callerKey: string | undefined, service: string, operation: string): void {
    let p = this.peers.get(peer);
    if (p === undefined || p.service !== service) {
      // A peer now answered by another service starts afresh; a new peer waits for room.
      if (p === undefined && this.peers.size >= this.maxPeers) return;
      p = newPeer(service);
      this.peers.set(peer, p);
    }
    remember(p, p.calls, callName, operation);
    if (callerKey !== undefined) rememberFrom(p, callerKey, callName, operation);
  }

  toJSON(): PeerSnapshot[] {
    return [...this.peers].map(([peer, p]) => {
      const calls = [...p.calls];
      for (const [caller, mine] of p.byCaller) for (const [name, op] of mine) calls.push([peerCallKey(caller, name), op]);
      return { peer, service: p.service, calls };
    });
  }

  /** A table holding a snapshot's peers. */
  static fromJSON(peers: readonly PeerSnapshot[], maxPeers: number): PeerTable {
    const table = new PeerTable(maxPeers);
    for (const { peer, service, calls } of peers) {
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
  return { service, calls: new Map(), byCaller: new Map(), size: 0 };
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
