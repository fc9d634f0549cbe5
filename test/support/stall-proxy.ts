/**
 * A TCP proxy on 127.0.0.1 that can stall: while stalled, bytes in either direction are held (not
 * dropped) and new connections are accepted but not connected through, as when a network path or a
 * server stops answering without closing anything. `release()` delivers what was held, in order.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** One direction of one connection: forwards, or holds while the proxy is stalled. */
class Leg {
  private held: Buffer[] = [];

  constructor(
    private readonly proxy: StallProxy,
    private readonly to: () => Socket | undefined,
  ) {}

  push(chunk: Buffer): void {
    const dest = this.to();
    if (this.proxy.stalled || dest === undefined) this.held.push(chunk);
    else dest.write(chunk);
  }

  flush(): void {
    const dest = this.to();
    if (dest === undefined) return;
    for (const chunk of this.held) dest.write(chunk);
    this.held = [];
  }
}

interface Pair {
  client: Socket;
  upstream?: Socket;
  up: Leg;
  down: Leg;
}

export class StallProxy {
  stalled = false;
  private readonly pairs = new Set<Pair>();

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
    readonly port: number,
  ) {}

  /** Listens on a free port of 127.0.0.1 and forwards to `target`. */
  static async start(target: { host: string; port: number }): Promise<StallProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const proxy = new StallProxy(server, target, (server.address() as { port: number }).port);
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  private accept(client: Socket): void {
    const pair: Pair = {
      client,
      up: new Leg(this, () => pair.upstream),
      down: new Leg(this, () => pair.client),
    };
    this.pairs.add(pair);
    client.on('data', (d) => pair.up.push(d));
    client.on('close', () => this.drop(pair));
    client.on('error', () => this.drop(pair));
    if (!this.stalled) this.connect(pair);
  }

  private connect(pair: Pair): void {
    const upstream = createConnection(this.target);
    pair.upstream = upstream;
    upstream.on('connect', () => pair.up.flush());
    upstream.on('data', (d) => pair.down.push(d));
    upstream.on('close', () => this.drop(pair));
    upstream.on('error', () => this.drop(pair));
  }

  /** Either side closed: close the other. */
  private drop(pair: Pair): void {
    this.pairs.delete(pair);
    pair.client.destroy();
    pair.upstream?.destroy();
  }

  /** Holds every byte from now on, both ways, and connects no new connection through. */
  stall(): void {
    this.stalled = true;
  }

  /** Delivers what was held and forwards again. */
  release(): void {
    this.stalled = false;
    for (const pair of this.pairs) {
      if (pair.upstream === undefined) this.connect(pair);
      else pair.up.flush();
      pair.down.flush();
    }
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    for (const p of [...this.pairs]) this.drop(p);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
