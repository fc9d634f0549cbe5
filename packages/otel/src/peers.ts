import type { AttributeValue } from '@rootspan/engine';

/**
 * Service names for callees by network address, built once from the `peers` option. Keys are a bare
 * address (`10.0.3.7`, `billing.internal`) or `address:port` (`127.0.0.1:4001`, `[::1]:4001`), stored
 * without IPv6 brackets because `server.address` carries none.
 */
export type PeerNames = ReadonlyMap<string, string>;

/** What the `peers` option accepts: a plain object or a Map from address to service name. */
export type PeersOption = Readonly<Record<string, string>> | ReadonlyMap<string, string>;

const BRACKETED = /^\[([^\]]+)\](?::(\d+))?$/;

/** The stored form of a key: `[::1]:4001` → `::1:4001`, `[::1]` → `::1`; others unchanged. */
function normalizeKey(key: string): string {
  const m = BRACKETED.exec(key);
  if (m === null) return key;
  return m[2] === undefined ? m[1] : `${m[1]}:${m[2]}`;
}

/**
 * Validates the `peers` option and builds the lookup table (once, at construction).
 * @returns the table, or `undefined` when there is nothing to look up (the mapper then skips the lookup).
 * @throws TypeError naming the bad entry.
 */
export function peerNames(option: PeersOption | undefined): PeerNames | undefined {
  if (option === undefined) return undefined;
  if (typeof option !== 'object' || option === null) {
    throw new TypeError('rootspan: option peers must be an object or a Map of address (or host:port) → service name');
  }
  const entries = option instanceof Map ? [...option.entries()] : Object.entries(option);
  const table = new Map<string, string>();
  for (const [key, name] of entries as Array<[unknown, unknown]>) {
    if (typeof key !== 'string' || key.trim() === '' || /\s/.test(key)) {
      throw new TypeError(`rootspan: option peers has a bad address ${JSON.stringify(key)} (want an address or host:port)`);
    }
    if (typeof name !== 'string' || name.trim() === '') {
      throw new TypeError(`rootspan: option peers[${JSON.stringify(key)}] must be a non-empty service name, got ${JSON.stringify(name)}`);
    }
    table.set(normalizeKey(key), name);
  }
  return table.size > 0 ? table : undefined;
}

/**
 * The service name `peers` gives a client span's callee: `address:port` first (several services often
 * share one IP), then the bare address. Reads stable (`server.*`) and legacy (`net.peer.*`) attributes.
 */
export function namePeer(peers: PeerNames, attributes: Readonly<Record<string, AttributeValue>>): string | undefined {
  const address = attributes['server.address'] ?? attributes['net.peer.name'];
  if (typeof address !== 'string' || address === '') return undefined;
  const port = attributes['server.port'] ?? attributes['net.peer.port'];
  return (port !== undefined ? peers.get(`${address}:${port}`) : undefined) ?? peers.get(address);
}
