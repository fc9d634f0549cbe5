/**
 * Traces shaped like the OpenTelemetry Demo (the astronomy shop) as its SDKs export them over OTLP/JSON:
 * an Envoy proxy in front, a Next.js frontend on the older HTTP conventions (`http.method`,
 * `http.status_code`, `http.target`, no route), gRPC between services (`rpc.system`, `rpc.service`,
 * `rpc.method`, `rpc.grpc.status_code`, Go/.NET/Java names `pkg.Service/Method`, Python's with a leading
 * slash), Redis and PostgreSQL client spans with `db.statement`, and a Kafka producer whose consumers
 * run in traces of their own (linked, not parented). For probing the engine with traces it was not
 * built from; faults are injected after a healthy warm-up.
 */
import type { OtlpJsonKeyValue, OtlpJsonSpan, OtlpJsonTraceRequest } from '@rootspan/otlp';
import { msToNanosString } from '@rootspan/otlp';
import { logNormal, mulberry32 } from '../../packages/engine/test/helpers/random.js';

/** What a fault does to one node of the call tree while it is active. */
export interface DemoFault {
  /** Service (as in `service.name`) whose server span — or, for `dependency`, whose client call — is hit. */
  service: string;
  /** The span name hit (the server span's name; for a dependency, the client span's name). */
  name: string;
  startMs: number;
  endMs?: number;
  /** Multiply its own time. */
  slow?: number;
  /** Fail with this gRPC status code (14 UNAVAILABLE) and an error status. */
  grpcError?: number;
  /** The service does not answer at all: no server span, the caller's client span fails fast. */
  down?: boolean;
  /** A Kafka consumer takes at most this many messages a second (it lost capacity): the rest wait their turn. */
  rate?: number;
}

export interface DemoOptions {
  seed?: number;
  /** Epoch ms of the first request. */
  startMs?: number;
  durationMs: number;
  /** Requests per second into the proxy. */
  rps?: number;
  faults?: DemoFault[];
  /**
   * How the spans were recorded: `otel` (status, kinds, attributes as the SDKs write them) or `jaeger`
   * (converted from Jaeger/Zipkin: 64-bit trace ids, no status — failures only in attributes).
   */
  flavor?: 'otel' | 'jaeger';
  /** ms each service's clock is off by (clock skew between hosts). */
  skewMs?: Record<string, number>;
  /** Omit `service.name` for these services (the SDK then reports `unknown_service:<runtime>`). */
  unnamed?: Record<string, string>;
  /** Export batch period of every service, ms (the BatchSpanProcessor's 5 s). */
  batchMs?: number;
  /** The system traced: the OpenTelemetry Demo (default) or Jaeger's HotROD. */
  system?: 'demo' | 'hotrod';
}

interface Node {
  service: string;
  /** Span name on the server side. */
  name: string;
  /** Median own time, ms. */
  selfMs: number;
  kind: 'server' | 'consumer' | 'internal';
  attrs: Record<string, string | number>;
  /** Calls made, in order. */
  calls: Call[];
  /** Share of requests failing by themselves when healthy (background errors). */
  errorRate?: number;
}

interface Call {
  /** Client span name and attributes, in the caller. */
  name: string;
  kind: 'client' | 'producer';
  attrs: Record<string, string | number>;
  /** The callee's node; absent for uninstrumented dependencies (Redis, PostgreSQL, Kafka). */
  callee?: Node;
  /** Median time of an uninstrumented dependency, ms. */
  depMs?: number;
  /** How many times (fan-out), drawn uniformly from [min, max]. */
  times?: [number, number];
  /** Started asynchronously: a Kafka consumer's trace of its own, linked to the producer. */
  consumers?: Node[];
  /** Fan-out calls run this many at a time (default 1: one after another). */
  parallel?: number;
  /** The client span is recorded under this service instead of the caller's (HotROD's simulated Redis). */
  as?: string;
  /** Share of calls to an uninstrumented dependency failing by themselves (and retried once). */
  errorRate?: number;
}

const grpcServer = (service: string, full: string, selfMs: number, calls: Call[] = []): Node => {
  const [svc, method] = full.replace(/^\//, '').split('/');
  return { service, name: full, selfMs, kind: 'server', attrs: { 'rpc.system': 'grpc', 'rpc.service': svc, 'rpc.method': method }, calls };
};

const grpcCall = (callee: Node, host: string, times?: [number, number]): Call => ({
  name: callee.name.replace(/^\//, ''),
  kind: 'client',
  attrs: { 'rpc.system': 'grpc', 'rpc.service': callee.attrs['rpc.service'], 'rpc.method': callee.attrs['rpc.method'], 'net.peer.name': host, 'net.peer.port': 8080 },
  callee,
  times,
});

const httpServer = (service: string, method: string, path: string, selfMs: number, calls: Call[] = []): Node => ({
  service,
  name: `${method} ${path}`,
  selfMs,
  kind: 'server',
  attrs: { 'http.method': method, 'http.target': path, 'http.scheme': 'http' },
  calls,
});

const httpCall = (callee: Node, host: string): Call => ({
  name: `HTTP ${callee.attrs['http.method']}`,
  kind: 'client',
  attrs: { 'http.method': callee.attrs['http.method'], 'http.url': `http://${host}:8080${callee.attrs['http.target']}`, 'net.peer.name': host, 'net.peer.port': 8080 },
  callee,
});

const redis = (command: string, ms: number): Call => ({
  name: command,
  kind: 'client',
  attrs: { 'db.system': 'redis', 'db.statement': `${command} cart:{user}`, 'net.peer.name': 'valkey-cart', 'net.peer.port': 6379 },
  depMs: ms,
});

/** The demo's services and calls (names as in its docker-compose deployment). */
function demoTopology(): Node[] {
  const getCart = grpcServer('cart', 'oteldemo.CartService/GetCart', 1.5, [redis('HGET', 0.8)]);
  const emptyCart = grpcServer('cart', 'oteldemo.CartService/EmptyCart', 1, [redis('HMSET', 0.9), redis('EXPIRE', 0.5)]);
  const addItem = grpcServer('cart', 'oteldemo.CartService/AddItem', 1.2, [redis('HGET', 0.8), redis('HMSET', 0.9)]);
  const getProduct = grpcServer('product-catalog', 'oteldemo.ProductCatalogService/GetProduct', 2);
  const listProducts = grpcServer('product-catalog', 'oteldemo.ProductCatalogService/ListProducts', 3);
  const convert = grpcServer('currency', 'CurrencyService/Convert', 0.4);
  const charge = grpcServer('payment', 'oteldemo.PaymentService/Charge', 12);
  const quote = httpServer('quote', 'POST', '/getquote', 4);
  const getQuote = httpServer('shipping', 'POST', '/get-quote', 1.5, [httpCall(quote, 'quote')]);
  const shipOrder = httpServer('shipping', 'POST', '/ship-order', 2);
  const email = httpServer('email', 'POST', '/send_order_confirmation', 25);
  const recommendations = grpcServer('recommendation', '/oteldemo.RecommendationService/ListRecommendations', 6, [grpcCall(listProducts, 'product-catalog')]);
  const ads = grpcServer('ad', 'oteldemo.AdService/GetAds', 3);
  const kafka = (operation: string) => ({ 'messaging.system': 'kafka', 'messaging.destination.name': 'orders', 'messaging.operation': operation });
  const consumer = (service: string, operation: string, selfMs: number, calls: Call[]): Node => ({ service, name: `orders ${operation}`, selfMs, kind: 'consumer', attrs: kafka(operation), calls });
  const accounting = consumer('accounting', 'receive', 3, [
    { name: 'INSERT otel.order', kind: 'client', attrs: { 'db.system': 'postgresql', 'db.name': 'otel', 'db.statement': 'INSERT INTO "order" ("order_id") VALUES ($1)', 'net.peer.name': 'postgresql' }, depMs: 2 },
  ]);
  const fraud = consumer('fraud-detection', 'process', 8, []);
  const placeOrder = grpcServer('checkout', 'oteldemo.CheckoutService/PlaceOrder', 3, [
    grpcCall(getCart, 'cart'),
    grpcCall(getProduct, 'product-catalog', [1, 4]),
    grpcCall(convert, 'currency', [1, 4]),
    httpCall(getQuote, 'shipping'),
    grpcCall(charge, 'payment'),
    httpCall(shipOrder, 'shipping'),
    grpcCall(emptyCart, 'cart'),
    httpCall(email, 'email'),
    { name: 'orders publish', kind: 'producer', attrs: kafka('publish'), depMs: 1.5, consumers: [accounting, fraud] },
  ]);
  const frontend = (method: string, path: string, target: string, selfMs: number, calls: Call[]): Node => ({
    service: 'frontend',
    name: `${method} ${path}`,
    selfMs,
    kind: 'server',
    attrs: { 'http.method': method, 'http.target': target, 'http.scheme': 'http', 'http.user_agent': 'python-requests/2.31.0' },
    calls,
  });
  return [
    frontend('GET', '/api/products/[productId]', '/api/products/OLJCESPC7Z', 4, [grpcCall(getProduct, 'product-catalog'), grpcCall(convert, 'currency')]),
    frontend('GET', '/api/cart', '/api/cart?sessionId=9a1c&currencyCode=USD', 3, [grpcCall(getCart, 'cart'), grpcCall(convert, 'currency', [0, 3])]),
    frontend('POST', '/api/cart', '/api/cart?currencyCode=USD', 3, [grpcCall(addItem, 'cart')]),
    frontend('POST', '/api/checkout', '/api/checkout?currencyCode=EUR', 5, [grpcCall(placeOrder, 'checkout')]),
    frontend('GET', '/api/recommendations', '/api/recommendations?productIds=&sessionId=9a1c', 3, [grpcCall(recommendations, 'recommendation')]),
    frontend('GET', '/api/data', '/api/data?contextKeys=telescopes', 2, [grpcCall(ads, 'ad')]),
  ];
}

/** Relative weights of the entry operations (the load generator's task weights). */
const ENTRY_WEIGHTS = [10, 3, 2, 1, 4, 3];

/**
 * Jaeger's HotROD as its OpenTracing-era tracer records it: `HTTP GET /dispatch` fans out to customer
 * (a MySQL query named `SQL SELECT`, `peer.service: mysql`), driver (gRPC; its Redis calls recorded by a
 * tracer named `redis`, a few failing with a timeout and retried) and ten `/route` calls three at a time.
 */
function hotrodTopology(): Node[] {
  const sql: Call = { name: 'SQL SELECT', kind: 'client', attrs: { 'peer.service': 'mysql', 'sql.query': 'SELECT * FROM customer WHERE customer_id=123' }, depMs: 300 };
  const customer = httpServer('customer', 'GET', '/customer', 1, [sql]);
  const findIds: Call = { name: 'FindDriverIDs', kind: 'client', attrs: { 'param.location': '728,326' }, depMs: 20, as: 'redis' };
  const getDriver: Call = { name: 'GetDriver', kind: 'client', attrs: { 'param.driverID': 'T7' }, depMs: 10, as: 'redis', times: [10, 10], errorRate: 0.05 };
  const driver = grpcServer('driver', '/driver.DriverService/FindNearest', 2, [findIds, getDriver]);
  const route = httpServer('route', 'GET', '/route', 50);
  const dispatch: Node = {
    service: 'frontend',
    name: 'HTTP GET /dispatch',
    selfMs: 2,
    kind: 'server',
    attrs: { 'http.method': 'GET', 'http.url': '/dispatch?customer=123' },
    calls: [httpCall(customer, 'customer'), grpcCall(driver, 'driver'), { ...httpCall(route, 'route'), times: [10, 10], parallel: 3 }],
  };
  return [dispatch];
}

interface Out {
  service: string;
  span: OtlpJsonSpan;
  /** Epoch ms the span ended in its service's own clock (batching). */
  end: number;
}

/** One demo run: OTLP/JSON export requests in the order the services' exporters would send them. */
export function demoRequests(options: DemoOptions): OtlpJsonTraceRequest[] {
  const rand = mulberry32(options.seed ?? 1);
  const start = options.startMs ?? 1_780_000_000_000;
  const rps = options.rps ?? 8;
  const flavor = options.flavor ?? 'otel';
  const faults = options.faults ?? [];
  const skew = options.skewMs ?? {};
  const batchMs = options.batchMs ?? 5000;
  const entries = options.system === 'hotrod' ? hotrodTopology() : demoTopology();
  const weights = options.system === 'hotrod' ? [1] : ENTRY_WEIGHTS;
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const out: Out[] = [];
  let idCounter = 0;
  const hex = (bytes: number) => {
    let s = '';
    for (let i = 0; i < bytes; i++) s += Math.floor(rand() * 256).toString(16).padStart(2, '0');
    return s === '0'.repeat(bytes * 2) ? `${(++idCounter).toString(16).padStart(bytes * 2, '0')}` : s;
  };
  const traceId = () => (flavor === 'jaeger' ? '0000000000000000' + hex(8) : hex(16));
  const draw = (median: number) => logNormal(rand, median, 0.25);
  /** When a consumer short of capacity (`DemoFault.rate`) takes its next message. */
  const freeAt = new Map<Node, number>();
  const active = (at: number, match: (f: DemoFault) => boolean) => faults.find((f) => match(f) && at >= f.startMs && (f.endMs === undefined || at < f.endMs));
  const kv = (attrs: Record<string, string | number>): OtlpJsonKeyValue[] =>
    Object.entries(attrs).map(([key, v]) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } }));
  const emit = (service: string, s: { traceId: string; spanId: string; parent?: string; link?: { traceId: string; spanId: string }; name: string; kind: number; start: number; end: number; attrs: Record<string, string | number>; error?: string }) => {
    const off = skew[service] ?? 0;
    const span: OtlpJsonSpan = {
      traceId: s.traceId,
      spanId: s.spanId,
      name: s.name,
      kind: s.kind,
      startTimeUnixNano: msToNanosString(s.start + off),
      endTimeUnixNano: msToNanosString(s.end + off),
      attributes: kv(s.attrs),
    };
    if (s.parent !== undefined) span.parentSpanId = s.parent;
    if (s.link !== undefined) span.links = [s.link];
    if (flavor === 'otel') span.status = s.error !== undefined ? { code: 2, message: s.error } : { code: 0 };
    out.push({ service, span, end: s.end + off });
  };

  /** Runs `node` as called at `t0` by parent span `parent`; returns its end time and whether it failed. */
  const serve = (node: Node, trace: string, parent: string | undefined, t0: number, link?: { traceId: string; spanId: string }): { end: number; failed: number } => {
    const fault = active(t0, (f) => f.service === node.service && f.name === node.name);
    const spanId = hex(8);
    let t = t0 + draw(node.selfMs) * (fault?.slow ?? 1) * 0.5;
    let failed = 0;
    if (fault?.grpcError === undefined) {
      for (const call of node.calls) {
        const [lo, hi] = call.times ?? [1, 1];
        const n = lo + Math.floor(rand() * (hi - lo + 1));
        // `parallel` lanes, each taking the next call when its last one ends.
        const lanes: number[] = new Array(call.parallel ?? 1).fill(t);
        for (let i = 0; i < n && failed === 0; i++) {
          const lane = lanes.indexOf(Math.min(...lanes));
          const r = callOut(node.service, call, trace, spanId, lanes[lane]);
          lanes[lane] = r.end;
          failed = r.failed;
        }
        t = Math.max(...lanes);
        if (failed !== 0) break;
      }
    }
    t += draw(node.selfMs) * (fault?.slow ?? 1) * 0.5;
    const code = fault?.grpcError ?? (failed !== 0 ? 13 : 0);
    const attrs = { ...node.attrs };
    const isRpc = node.attrs['rpc.system'] !== undefined;
    if (isRpc) attrs['rpc.grpc.status_code'] = code;
    else if (node.kind === 'server') attrs['http.status_code'] = code !== 0 ? 500 : 200;
    const error = code === 0 ? undefined : fault?.grpcError !== undefined ? 'failed to charge card: could not connect' : 'downstream call failed';
    emit(node.service, { traceId: trace, spanId, parent, link, name: node.name, kind: node.kind === 'server' ? 2 : node.kind === 'consumer' ? 5 : 1, start: t0, end: t, attrs, error });
    return { end: t, failed: code };
  };

  const callOut = (service: string, call: Call, trace: string, parent: string, t0: number): { end: number; failed: number } => {
    const spanId = hex(8);
    const depFault = call.callee === undefined ? active(t0, (f) => f.service === service && f.name === call.name) : undefined;
    const callee = call.callee;
    let end: number;
    let failed = 0;
    const down = callee !== undefined ? active(t0, (f) => f.service === callee.service && f.name === callee.name && f.down === true) : undefined;
    if (down !== undefined) {
      end = t0 + draw(1.5);
      failed = 14;
    } else if (callee !== undefined) {
      const net = draw(0.6);
      const r = serve(callee, trace, spanId, t0 + net / 2);
      end = r.end + net / 2;
      failed = r.failed;
    } else {
      end = t0 + draw(call.depMs ?? 1) * (depFault?.slow ?? 1);
      if (call.errorRate !== undefined && rand() < call.errorRate) {
        // Failed by itself (a timeout): recorded failing, then retried once, which succeeds.
        emit(call.as ?? service, { traceId: trace, spanId, parent, name: call.name, kind: 3, start: t0, end, attrs: { ...call.attrs, error: 'true' }, error: 'redis timeout' });
        return callOut(service, { ...call, errorRate: undefined }, trace, parent, end);
      }
    }
    const attrs = { ...call.attrs };
    if (call.attrs['rpc.system'] !== undefined) attrs['rpc.grpc.status_code'] = failed;
    else if (call.attrs['http.method'] !== undefined) attrs['http.status_code'] = failed !== 0 ? 500 : 200;
    const error = failed === 0 ? undefined : down !== undefined ? 'connection error: dial tcp: connect: connection refused' : 'rpc error: code = Unavailable';
    emit(call.as ?? service, { traceId: trace, spanId, parent, name: call.name, kind: call.kind === 'producer' ? 4 : 3, start: t0, end, attrs, error });
    for (const consumer of call.consumers ?? []) {
      // Consumed a little later, in a trace of its own, linked to the producer (links are not parented); a
      // consumer short of capacity takes it only when done with the ones before.
      let at = end + draw(5);
      const capped = active(at, (f) => f.service === consumer.service && f.name === consumer.name && f.rate !== undefined);
      if (capped !== undefined) {
        at = Math.max(at, freeAt.get(consumer) ?? at);
        freeAt.set(consumer, at + 1000 / (capped.rate as number));
      }
      serve(consumer, traceId(), undefined, at, { traceId: trace, spanId });
    }
    return { end, failed };
  };

  /** The proxy in front: Envoy's ingress (server) and its egress to the frontend (client), with the same name. */
  const proxy = (entry: Node, t0: number) => {
    const trace = traceId();
    const server = hex(8);
    const client = hex(8);
    const r = serve(entry, trace, client, t0 + 0.3);
    const end = r.end + 0.2;
    const status = r.failed !== 0 ? 500 : 200;
    const attrs = { 'http.method': entry.attrs['http.method'], 'http.url': `http://frontend-proxy:8080${entry.attrs['http.target']}`, 'http.status_code': status, 'upstream_cluster': 'frontend', 'component': 'proxy' };
    emit('frontend-proxy', { traceId: trace, spanId: client, parent: server, name: 'router frontend egress', kind: 3, start: t0 + 0.1, end: end - 0.1, attrs, error: r.failed !== 0 ? 'upstream 500' : undefined });
    emit('frontend-proxy', { traceId: trace, spanId: server, name: 'ingress', kind: 2, start: t0, end: end, attrs, error: r.failed !== 0 ? 'upstream 500' : undefined });
  };

  for (let t = start; t < start + options.durationMs; t += -Math.log(Math.max(1e-9, rand())) * (1000 / rps)) {
    let pick = rand() * totalWeight;
    let i = 0;
    while (pick >= weights[i]) pick -= weights[i++];
    proxy(entries[i], t);
  }

  // Each service's exporter sends what ended in each batch period, one resource per service.
  const byBatch = new Map<number, Map<string, OtlpJsonSpan[]>>();
  for (const o of out) {
    const b = Math.floor((o.end - start) / batchMs);
    let services = byBatch.get(b);
    if (services === undefined) byBatch.set(b, (services = new Map()));
    const list = services.get(o.service);
    if (list === undefined) services.set(o.service, [o.span]);
    else list.push(o.span);
  }
  const unnamed = options.unnamed ?? {};
  return [...byBatch.keys()]
    .sort((a, b) => a - b)
    .flatMap((b) =>
      [...byBatch.get(b)!].map(([service, spans]) => ({
        resourceSpans: [
          {
            resource: { attributes: kv(service in unnamed ? { 'service.name': `unknown_service:${unnamed[service]}`, 'telemetry.sdk.language': unnamed[service] } : { 'service.name': service, 'service.namespace': 'opentelemetry-demo' }) },
            scopeSpans: [{ scope: { name: 'io.opentelemetry.demo' }, spans }],
          },
        ],
      })),
    );
}
