import { describe, expect, it } from 'vitest';
import { MAX_PATH_OPERATIONS } from '../src/limits.js';
import { FAMILY_AFTER, VARYING_AFTER } from '../src/model/paths.js';
import { calledPath, clientOperation, connectTarget, foldPath, isDependencyCall, isErrorSpan, OperationNames, peerName, sameAddress, saysRefused, serverOperation } from '../src/model/operation.js';
import { rejectReason } from '../src/model/validate.js';
import { span } from './helpers/spans.js';

const base = { service: 'svc', startTime: 1000, endTime: 1010 };

describe('operation naming', () => {
  it('uses method + route, never the raw URL', () => {
    const s = span({ ...base, name: 'GET /users/123', attributes: { 'http.request.method': 'GET', 'http.route': '/users/:id' } });
    expect(serverOperation(s)).toBe('GET /users/:id');
  });

  it("names a Next.js App Router route handler by its URL's route, not its file (`/app/api/checkout/route`)", () => {
    // As Next.js records them (no other attribute of Next's is kept by converters).
    const next = (route: string, target: string, method = 'POST') => span({ ...base, name: `${method} ${route}`, attributes: { 'http.method': method, 'http.target': target, 'http.route': route } });
    const names = new OperationNames(100);
    for (const name of [serverOperation, (s: ReturnType<typeof span>) => names.server(s)]) {
      expect(name(next('/app/api/checkout/route', '/api/checkout'))).toBe('POST /api/checkout');
      // Route groups and parallel routes are not in the URL; a dynamic segment stays one.
      expect(name(next('/app/(shop)/api/orders/[id]/@modal/route', '/api/orders/42?x=1', 'GET'))).toBe('GET /api/orders/[id]');
      expect(name(next('/app/api/files/[...path]/route', '/api/files/a/b/c', 'GET'))).toBe('GET /api/files/[...path]');
      expect(name(next('/app/route', '/', 'GET'))).toBe('GET /');
      // A page is named by its route already.
      expect(name(next('/products/[id]', '/products/7', 'GET'))).toBe('GET /products/[id]');
    }
    // Another framework's route that merely reads so, its request's path not fitting it, is its own.
    expect(serverOperation(next('/app/:id/route', '/app/7/route', 'GET'))).toBe('GET /app/:id/route');
    expect(serverOperation(span({ ...base, name: 'GET', attributes: { 'http.request.method': 'GET', 'http.route': '/app/reports/route' } }))).toBe('GET /app/reports/route');
  });

  it('maps stable and legacy HTTP semconv to the same operation', () => {
    const stable = span({ ...base, name: 'POST', attributes: { 'http.request.method': 'POST', 'http.route': '/pay' } });
    const legacy = span({ ...base, name: 'POST', attributes: { 'http.method': 'POST', 'http.route': '/pay' } });
    expect(serverOperation(stable)).toBe(serverOperation(legacy));
  });

  it('folds id-like path segments and query strings when there is no route', () => {
    expect(foldPath('GET /users/123/orders/9f8e7d6c-1234-4abc-8def-0123456789ab?x=1')).toBe('GET /users/:id/orders/:id');
    expect(foldPath('GET /v1/items')).toBe('GET /v1/items');
    expect(serverOperation(span({ ...base, name: 'GET /orders/42' }))).toBe('GET /orders/:id');
  });

  it("drops a URL's fragment, and keeps a `#` that starts none (Rails' action spans: `OrdersController#show`)", () => {
    expect(foldPath('OrdersController#show')).toBe('OrdersController#show');
    expect(serverOperation(span({ ...base, name: 'Api::V2::OrdersController#show', kind: 'server', attributes: { 'http.method': 'GET', 'http.target': '/orders/42' } }))).toBe('Api::V2::OrdersController#show');
    expect(foldPath('GET /orders/42#items')).toBe('GET /orders/:id');
    expect(foldPath('GET /orders/42?tab=a#items')).toBe('GET /orders/:id');
    expect(foldPath('Job#perform?x=1')).toBe('Job#perform');
  });

  it('folds base62 ids, whose random letters leave few digits, and keeps words with a digit', () => {
    for (const id of ['sku_txCJLPRBusW83N', 'ord_8sK2xq', 'ch_3MmlLrLkdIwHu7ix0snN0B15', '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'AbCdEf1GhIj', '5f2b9c1a']) {
      expect(foldPath(`GET /items/${id}/stock`)).toBe('GET /items/:id/stock');
    }
    for (const word of ['oauth2callback', 'v2', 's3', 'ab12', 'checkout']) expect(foldPath(`GET /${word}/x`)).toBe(`GET /${word}/x`);
  });

  it('names peers as the Collector service graph does', () => {
    expect(peerName(span({ ...base, name: 'x', attributes: { 'peer.service': 'billing', 'db.system': 'postgresql' } }))).toBe('billing');
    expect(peerName(span({ ...base, name: 'x', attributes: { 'db.system': 'postgresql', 'server.address': 'db1' } }))).toBe('postgresql');
    expect(peerName(span({ ...base, name: 'x', attributes: { 'server.address': 'payment', 'server.port': 8080 } }))).toBe('payment');
    expect(peerName(span({ ...base, name: 'x', attributes: { 'net.peer.name': 'localhost', 'net.peer.port': 3003 } }))).toBe('localhost:3003');
    expect(peerName(span({ ...base, name: 'x' }))).toBe('unknown');
    // A name lookup calls the resolver; its address attribute is the answer (instrumentation-dns).
    expect(peerName(span({ ...base, name: 'dns.lookup', kind: 'client', attributes: { 'peer.ipv4': '127.0.0.1' } }))).toBe('dns');
    expect(peerName(span({ ...base, name: 'dns.lookupService', kind: 'client' }))).toBe('dns');
    expect(peerName(span({ ...base, name: 'dns.lookups', kind: 'client' }))).toBe('unknown');
    // A broker is its system, as a database is: a topic named like a service must not become it.
    expect(peerName(span({ ...base, name: 'orders publish', attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' } }))).toBe('kafka');
  });

  it("names a publish to RabbitMQ's default exchange by its queue (the routing key)", () => {
    const amqp = (name: string, attributes: Record<string, string>) => clientOperation(span({ ...base, name, kind: 'producer', attributes: { 'messaging.system': 'rabbitmq', ...attributes } }));
    expect(amqp('publish <default>', { 'messaging.rabbitmq.routing_key': 'orders' })).toBe('publish orders');
    expect(amqp('publish <default>', { 'messaging.rabbitmq.destination.routing_key': 'invoices' })).toBe('publish invoices');
    // A named exchange routes by its own rules: the exchange is the destination.
    expect(amqp('publish events', { 'messaging.rabbitmq.routing_key': 'order.created' })).toBe('publish events');
    expect(amqp('publish <default>', {})).toBe('publish <default>');
  });

  it('names client operations from db and http attributes', () => {
    expect(clientOperation(span({ ...base, name: 'SELECT orders', attributes: { 'db.operation.name': 'select' } }))).toBe('SELECT orders');
    expect(clientOperation(span({ ...base, name: 'SELECT * FROM orders WHERE id = 1', attributes: { 'db.operation.name': 'select', 'db.collection.name': 'orders' } }))).toBe('SELECT orders');
    expect(clientOperation(span({ ...base, name: 'SELECT * FROM orders WHERE id = 1', attributes: { 'db.system': 'postgresql', 'db.operation.name': 'select' } }))).toBe('SELECT orders');
    expect(clientOperation(span({ ...base, name: 'POST', attributes: { 'http.method': 'POST' } }))).toBe('POST');
  });

  it("names a Zipkin tracer's database call by its `sql.query` (Brave's JDBC, p6spy, MySQL) or `jdbc.query` (Sleuth) statement: a database call", () => {
    // Brave names the span by the statement's first word, and records no db.system: the peer is the remote service.
    const brave = (name: string, attributes: Record<string, string>) => span({ ...base, name, kind: 'client', attributes: { 'peer.service': 'orders', ...attributes } });
    const update = brave('update', { 'sql.query': 'UPDATE accounts SET balance = balance - ? WHERE id = ?' });
    expect(clientOperation(update)).toBe('UPDATE accounts');
    expect(isDependencyCall(update)).toBe(true);
    expect(clientOperation(brave('query', { 'jdbc.query': 'select o.id from "orders" o where o.id = ?' }))).toBe('SELECT orders');
    expect(clientOperation(brave('COMMIT', { 'sql.query': 'COMMIT' }))).toBe('COMMIT');
    // The OpenTelemetry attributes win where both are recorded.
    expect(clientOperation(brave('select', { 'db.system': 'mysql', 'db.statement': 'SELECT * FROM users', 'sql.query': 'SELECT * FROM accounts' }))).toBe('SELECT users');
  });

  it('names a route-less server span (a bare http server) by its method and folded path, unless it has a name of its own', () => {
    const server = (name: string, attributes: Record<string, string | number>) => serverOperation(span({ ...base, name, kind: 'server', attributes }));
    expect(server('GET', { 'http.request.method': 'GET', 'url.path': '/users/123/orders' })).toBe('GET /users/:id/orders');
    expect(server('HTTP POST', { 'http.method': 'POST', 'http.target': '/charge?card=4111111111111111' })).toBe('POST /charge');
    expect(server('GET', { 'http.request.method': 'GET', 'http.route': '/users/:uid', 'url.path': '/users/1' })).toBe('GET /users/:uid');
    expect(server('checkout handler', { 'http.request.method': 'POST', 'url.path': '/checkout' })).toBe('checkout handler');
    expect(server('GET', { 'http.request.method': 'GET', 'url.path': '*' })).toBe('GET');
    // Named by the route template alone (some Java agents): the method joins it.
    expect(server('/api/orders/{id}', { 'http.method': 'POST', 'http.target': '/api/orders/7' })).toBe('POST /api/orders/{id}');
    expect(server('/api/orders/{id}', {})).toBe('/api/orders/{id}');
    // OpenTracing-era tracers (Jaeger clients) record the full URL only, server spans too.
    expect(server('GET', { 'http.method': 'GET', 'http.url': 'http://gateway:8080/api/orders/42?expand=1' })).toBe('GET /api/orders/:id');
    expect(server('GET', { 'http.request.method': 'GET', 'url.full': 'https://gateway/' })).toBe('GET /');
    expect(server('GET', { 'http.method': 'GET', 'http.url': 'http://gateway' })).toBe('GET');
  });

  it("names a route-less server span labelled for its whole handler (Go's otelhttp.NewHandler(mux, \"server\")) by its method and folded path", () => {
    const server = (name: string, attributes: Record<string, string | number>) => serverOperation(span({ ...base, name, kind: 'server', attributes }));
    const uuid = '3f2a9c1e-4b7d-4e2a-9c1e-0a1b2c3d4e5f';
    expect(server('server', { 'http.method': 'POST', 'http.target': `/v1/charges/${uuid}?idempotency_key=abc123` })).toBe('POST /v1/charges/:id');
    expect(server('http-server', { 'http.request.method': 'GET', 'url.path': '/orders/42' })).toBe('GET /orders/:id');
    // A mux mounted at `/` (`otelhttp.NewHandler(mux, "/")`): the root is no route of every path.
    expect(server('/', { 'http.method': 'GET', 'http.target': '/orders/42' })).toBe('GET /orders/:id');
    expect(server('/', { 'http.method': 'GET', 'http.target': '/' })).toBe('GET /');
    expect(server('/', { 'http.method': 'GET' })).toBe('GET /');
    // Names of an endpoint stay: a framework's (Falcon), the author's, a route.
    expect(server('OrderResource.on_get', { 'http.method': 'GET', 'http.target': '/orders/42' })).toBe('OrderResource.on_get');
    expect(server('server', { 'http.method': 'GET', 'http.route': '/orders/{id}', 'http.target': '/orders/42' })).toBe('GET /orders/{id}');
    // Without a method or a path, the label is all there is.
    expect(server('server', { 'url.path': '/orders/42' })).toBe('server');
    expect(server('server', { 'http.method': 'GET' })).toBe('server');
  });

  it("gives a service's route-less paths at most MAX_PATH_OPERATIONS operations; later paths share the method's", () => {
    const names = new OperationNames(10_000);
    const get = (service: string, path: string) => names.server(span({ ...base, service, name: 'GET', kind: 'server', attributes: { 'http.request.method': 'GET', 'url.path': path } }));
    // 150 fixed paths, no position with more than 20 distinct segments.
    const path = (i: number) => `/${String.fromCharCode(97 + (i % 10))}/${String.fromCharCode(97 + Math.floor(i / 10))}`;
    const users = Array.from({ length: MAX_PATH_OPERATIONS + 50 }, (_, i) => get('directory', path(i)));
    expect(new Set(users).size).toBe(MAX_PATH_OPERATIONS + 1);
    expect(users.slice(MAX_PATH_OPERATIONS)).toEqual(Array(50).fill('GET'));
    // A named path keeps its name; another service has its own share.
    expect(get('directory', '/a/a')).toBe('GET /a/a');
    expect(get('catalog', '/items')).toBe('GET /items');
    // Spans named as the older conventions name them (`HTTP GET`) share the method too.
    const legacy = names.server(span({ ...base, service: 'directory', name: 'HTTP GET', kind: 'server', attributes: { 'http.method': 'GET', 'http.target': '/users/zz' } }));
    expect(legacy).toBe('GET');
  });

  it("names a 404 without a route by its method where the service's framework names routes (it matched none); a bare server's 404s by their paths", () => {
    const names = new OperationNames(10_000);
    const get = (service: string, path: string, status: number, route?: string) =>
      names.server(span({ ...base, service, name: 'GET', kind: 'server', attributes: { 'http.request.method': 'GET', 'url.path': path, 'http.response.status_code': status, ...(route ? { 'http.route': route } : {}) } }));
    // Before the service is seen naming a route, a route-less 404 is named by its path, as any route-less span.
    expect(get('api', '/.env', 404)).toBe('GET /.env');
    expect(get('api', '/products/7', 200, '/products/:id')).toBe('GET /products/:id');
    const probes = ['/wp-admin/setup-config.php', '/p15lgr/.env', '/.git/config', '/backup.zip', '/actuator/health'].map((p) => get('api', p, 404));
    expect(probes).toEqual(Array(5).fill('GET'));
    // A route-less answer that is no 404 keeps its path (a middleware answering before the router).
    expect(get('api', '/healthz', 200)).toBe('GET /healthz');
    // A bare http server names no routes: its 404s (a product not found) are its paths' requests.
    expect(get('bare', '/stock/12', 404)).toBe('GET /stock/:id');
  });

  it("names a server error that failed before the router by the route its path fits, in a service that names routes", () => {
    const names = new OperationNames(10_000);
    const req = (service: string, method: string, path: string, status: number, route?: string) =>
      names.server(span({ ...base, service, name: method, kind: 'server', attributes: { 'http.request.method': method, 'url.path': path, 'http.response.status_code': status, ...(route ? { 'http.route': route } : {}) } }));
    req('cms', 'GET', '/items/articles/7', 200, '/items/:collection/:id');
    req('cms', 'GET', '/items/articles', 200, '/items/:collection');
    req('cms', 'GET', '/items/articles/export', 200, '/items/:collection/export');
    req('cms', 'GET', '/assets/a/b/c.png', 200, '/assets/*');
    req('cms', 'POST', '/items/articles', 201, '/items/:collection');
    // A load-shedding middleware's 503s and a session check's 500s, before the router: the routes' requests.
    expect(req('cms', 'GET', '/items/articles/9?fields=*', 503)).toBe('GET /items/:collection/:id');
    expect(req('cms', 'GET', '/items/pages/', 500)).toBe('GET /items/:collection');
    expect(req('cms', 'POST', '/items/pages', 503)).toBe('POST /items/:collection');
    // The most specific fits: a static segment beats a parameter; a wildcard takes the rest.
    expect(req('cms', 'GET', '/items/pages/export', 503)).toBe('GET /items/:collection/export');
    expect(req('cms', 'GET', '/assets/x/y.css', 500)).toBe('GET /assets/*');
    // No route fits, another method's route, or no server error: by its path, as before.
    expect(req('cms', 'GET', '/server/health', 503)).toBe('GET /server/health');
    expect(req('cms', 'DELETE', '/items/pages/3', 503)).toBe('DELETE /items/pages/:id');
    expect(req('cms', 'GET', '/items/pages/3', 401)).toBe('GET /items/pages/:id');
    // A bare server names no routes: nothing to fit.
    expect(req('bare', 'GET', '/items/pages/3', 503)).toBe('GET /items/pages/:id');
  });

  it('leaves a route-less server error apart when two routes fit it equally well', () => {
    const names = new OperationNames(10_000);
    const req = (path: string, status: number, route?: string) =>
      names.server(span({ ...base, service: 'api', name: 'GET', kind: 'server', attributes: { 'http.request.method': 'GET', 'url.path': path, 'http.response.status_code': status, ...(route ? { 'http.route': route } : {}) } }));
    req('/users/1', 200, '/users/:id');
    req('/orders/1', 200, '/orders/:id');
    expect(req('/orders/carol', 503)).toBe('GET /orders/:id');
    req('/users/alice', 200, '/users/{name}');
    expect(req('/users/bob', 503)).toBe('GET /users/bob');
  });

  it('folds a position of route-less paths to :id once it has had more than VARYING_AFTER distinct segments', () => {
    const names = new OperationNames(10_000);
    const get = (path: string) => names.server(span({ ...base, service: 'inventory', name: 'HTTP GET', kind: 'server', attributes: { 'http.method': 'GET', 'http.target': path } }));
    // Ids no pattern recognises: letters only.
    const sku = (i: number) => `sku_${String.fromCharCode(65 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}qWzkPx`;
    const first = Array.from({ length: VARYING_AFTER }, (_, i) => get(`/items/${sku(i)}/stock`));
    expect(first[0]).toBe(`GET /items/${sku(0)}/stock`);
    expect(get(`/items/${sku(VARYING_AFTER)}/stock`)).toBe('GET /items/:id/stock');
    // From then on every item is one operation, those named before too; fixed siblings elsewhere stay.
    expect(get(`/items/${sku(0)}/stock`)).toBe('GET /items/:id/stock');
    expect(get(`/items/${sku(99)}/stock`)).toBe('GET /items/:id/stock');
    expect(get('/health')).toBe('GET /health');
    // Calls to a peer's paths fold the same way.
    const call = (path: string) => names.callPath(span({ ...base, name: 'GET', kind: 'client', attributes: { 'http.request.method': 'GET', 'url.full': `http://inventory${path}` } }), 'inventory');
    for (let i = 0; i <= VARYING_AFTER; i++) call(`/items/${sku(i)}`);
    expect(call(`/items/${sku(3)}`)).toBe('GET /items/:id');
  });

  it('folds a position at the FAMILY_AFTER-th distinct word-and-number segment (sku16, sku3), not after 25 one-off names', () => {
    const names = new OperationNames(10_000);
    const get = (path: string) => names.server(span({ ...base, service: 'pricing', name: 'GET', kind: 'server', attributes: { 'http.request.method': 'GET', 'url.path': path } }));
    const first = [16, 3, 21].map((i) => get(`/price/sku${i}`));
    expect(first).toEqual(['GET /price/sku16', 'GET /price/sku3', 'GET /price/sku21']);
    // Other families and plain words at the position count apart.
    expect(get('/price/v2')).toBe('GET /price/v2');
    expect(get('/price/latest')).toBe('GET /price/latest');
    expect(FAMILY_AFTER).toBe(4);
    expect(get('/price/sku9')).toBe('GET /price/:id');
    expect(get('/price/sku16')).toBe('GET /price/:id');
    expect(get('/price/item-77')).toBe('GET /price/:id');
    // An API's versions at one position stay apart.
    for (const v of ['v1', 'v2', 'v3']) expect(get(`/api/${v}/users`)).toBe(`GET /api/${v}/users`);
  });

  it("keeps learning other services' paths after one service's unbounded ids (memory is shared and bounded)", () => {
    const names = new OperationNames(10_000);
    const get = (service: string, path: string) => names.server(span({ ...base, service, name: 'GET', kind: 'server', attributes: { 'http.request.method': 'GET', 'url.path': path } }));
    const letters = (i: number) => Array.from({ length: 4 }, (_, k) => String.fromCharCode(97 + (Math.floor(i / 26 ** k) % 26))).join('');
    for (let i = 0; i < 60_000; i++) get('directory', `/users/${letters(i)}`);
    expect(get('directory', `/users/${letters(99_999)}`)).toBe('GET /users/:id');
    for (let i = 0; i <= VARYING_AFTER; i++) get('catalog', `/items/${letters(i)}`);
    expect(get('catalog', `/items/${letters(5000)}`)).toBe('GET /items/:id');
  });

  it('reads the path an HTTP call called (url.template, url.full, http.url, url.path, http.target): never its query', () => {
    const path = (name: string, attributes: Record<string, string | number>) => calledPath(span({ ...base, name, kind: 'client', attributes }));
    expect(path('GET', { 'http.request.method': 'GET', 'url.full': 'https://user:pw@api.example.com/v1/customers/cus_81x9Q2a3/orders?token=s3cret' })).toBe('GET /v1/customers/:id/orders');
    expect(path('POST', { 'http.request.method': 'POST', 'url.full': 'http://10.0.3.7:8080/charge#x' })).toBe('POST /charge');
    expect(path('HTTP GET', { 'http.method': 'GET', 'http.url': 'http://inventory:3001/items/42' })).toBe('GET /items/:id');
    expect(path('GET', { 'http.method': 'GET', 'http.target': '/stock/9f8e7d6c5b4a39281706f5e4d3c2b1a0?fresh=1' })).toBe('GET /stock/:id');
    expect(path('PUT', { 'http.request.method': 'PUT', 'url.path': '/carts/7' })).toBe('PUT /carts/:id');
    // The client's own template of the URL, where it knows one, over the URL it filled in.
    expect(path('GET', { 'http.request.method': 'GET', 'url.template': '/owners/{ownerId}', 'url.full': 'http://vets:8080/owners/7' })).toBe('GET /owners/{ownerId}');
    expect(path('GET', { 'http.request.method': 'GET', 'url.full': 'https://api.example.com/' })).toBe('GET /');
    // Named by the method and the URL itself (Next.js's fetch spans).
    expect(path('fetch GET http://127.0.0.1:46811/items/38', { 'http.method': 'GET', 'http.url': 'http://127.0.0.1:46811/items/38' })).toBe('GET /items/:id');
    expect(path('POST https://api.example.com/v1/charges', { 'http.request.method': 'POST', 'url.full': 'https://api.example.com/v1/charges' })).toBe('POST /v1/charges');
    // No path (no URL, or none in it), a span named for more than its method, or not an HTTP call.
    for (const [name, attributes] of [
      ['GET', { 'http.request.method': 'GET', 'url.full': 'https://api.example.com' }],
      ['GET', { 'http.request.method': 'GET', 'server.address': 'api.example.com' }],
      ['fetch prices', { 'http.request.method': 'GET', 'url.full': 'https://api.example.com/prices' }],
      ['GET prices', { 'http.request.method': 'GET', 'url.full': 'https://api.example.com/prices' }],
      ['fetch GET', { 'http.request.method': 'GET', 'url.full': 'https://api.example.com/prices' }],
      ['GET', { 'http.request.method': 'GET', 'url.full': 'not a url' }],
      ['SELECT orders', { 'db.system': 'postgresql', 'url.full': 'https://x/y' }],
    ] as const) expect(path(name, attributes)).toBeUndefined();
    // The operation of an uninstrumented callee stays its method.
    expect(clientOperation(span({ ...base, name: 'GET', kind: 'client', attributes: { 'http.request.method': 'GET', 'url.full': 'https://api.example.com/v1/x' } }))).toBe('GET');
  });

  it("tells at most MAX_PATH_OPERATIONS paths called on a peer apart; later calls go by their operation", () => {
    const names = new OperationNames(10_000);
    const get = (peer: string, path: string) => names.callPath(span({ ...base, name: 'GET', kind: 'client', attributes: { 'http.request.method': 'GET', 'url.full': `https://${peer}${path}` } }), peer) ?? 'GET';
    const files = Array.from({ length: MAX_PATH_OPERATIONS + 20 }, (_, i) => get('cdn.example.com', `/${String.fromCharCode(97 + (i % 10))}/report-${String.fromCharCode(97 + Math.floor(i / 10))}.pdf`));
    expect(new Set(files).size).toBe(MAX_PATH_OPERATIONS + 1);
    expect(files.slice(MAX_PATH_OPERATIONS)).toEqual(Array(20).fill('GET'));
    expect(get('cdn.example.com', '/a/report-a.pdf')).toBe('GET /a/report-a.pdf');
    expect(get('api.example.com', '/v1/charges')).toBe('GET /v1/charges');
  });

  it("names a statement of no table by its verb, not the driver's span name, and a CTE by the first table it reads", () => {
    const pg = (name: string, statement: string) => clientOperation(span({ ...base, name, attributes: { 'db.system': 'postgresql', 'db.statement': statement } }));
    expect(pg('pg.query:BEGIN shop', 'BEGIN')).toBe('BEGIN');
    expect(pg('pg.query:COMMIT shop', 'commit')).toBe('COMMIT');
    const mysql = (statement: string) => clientOperation(span({ ...base, name: statement.split(' ')[0], attributes: { 'db.system': 'mysql', 'db.statement': statement } }));
    expect([mysql('START TRANSACTION'), mysql('start transaction read only'), mysql('START  SLAVE')]).toEqual(['START TRANSACTION', 'START TRANSACTION', 'START']);
    expect(pg('pg.query:SELECT shop', 'SELECT 1')).toBe('SELECT');
    // One of no table is named by the function it calls; a read taking row locks apart from its table's plain reads.
    expect([pg('pg.query:SELECT shop', 'SELECT pg_sleep($1)'), pg('pg.query:SELECT shop', 'select NEXTVAL(\'order_ids\')'), pg('pg.query:SELECT shop', 'SELECT $1::int AS one')]).toEqual(['SELECT pg_sleep', 'SELECT nextval', 'SELECT']);
    expect([
      pg('pg.query:SELECT shop', 'SELECT "id", "stock" FROM "products" WHERE "id" = $1 FOR UPDATE'),
      pg('pg.query:SELECT shop', 'SELECT * FROM jobs WHERE run_at < now() ORDER BY run_at LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED'),
      pg('pg.query:SELECT shop', 'SELECT * FROM accounts WHERE id = $1 FOR KEY SHARE'),
      pg('pg.query:SELECT shop', 'SELECT id FROM products WHERE id = $1'),
    ]).toEqual(['SELECT products FOR UPDATE', 'SELECT jobs FOR UPDATE', 'SELECT accounts FOR SHARE', 'SELECT products']);
    expect(mysql('SELECT qty FROM stock WHERE sku = ? LOCK IN SHARE MODE')).toBe('SELECT stock FOR SHARE');
    expect(pg('pg.query:WITH shop', 'WITH recent AS (SELECT * FROM orders WHERE user_id = $1) SELECT * FROM recent')).toBe('WITH orders');
    // A key-value store's command is its command, in capitals as its docs write it (ioredis names its spans
    // `get`, node-redis `redis-GET`), also when SQL has the same keyword.
    const redis = (name: string, text: string) => clientOperation(span({ ...base, name, attributes: { 'db.system.name': 'redis', 'db.operation.name': name, 'db.query.text': text } }));
    expect(clientOperation(span({ ...base, name: 'get', attributes: { 'db.system': 'redis', 'db.statement': 'get user:1' } }))).toBe('GET');
    expect([redis('get', 'get product:6'), redis('set', 'set product:6 [3 other arguments]'), redis('exec', 'exec'), redis('select', 'select 2')]).toEqual(['GET', 'SET', 'EXEC', 'SELECT']);
    const nodeRedis = (name: string) => clientOperation(span({ ...base, name, attributes: { 'db.system': 'redis', 'db.statement': `${name.slice(6)} i:12` } }));
    expect([nodeRedis('redis-GET'), nodeRedis('redis-HGETALL'), nodeRedis('redis-connect')]).toEqual(['GET', 'HGETALL', 'CONNECT']);
    const memcached = clientOperation(span({ ...base, name: 'memcached get', attributes: { 'db.system': 'memcached' } }));
    expect(memcached).toBe('GET');
    // A command queued in a transaction (ioredis names it `MULTI lpush`) is that command.
    const queued = (name: string) => clientOperation(span({ ...base, name, attributes: { 'db.system': 'redis', 'db.operation': `MULTI ${name}`, 'db.statement': `${name} cart-history:2` } }));
    expect([queued('lpush'), queued('ltrim'), queued('del')]).toEqual(['LPUSH', 'LTRIM', 'DEL']);
    // Not one command: named as before.
    expect(clientOperation(span({ ...base, name: 'multi exec', attributes: { 'db.system': 'redis' } }))).toBe('multi exec');
  });

  it('names a query builder\'s call by the statement it sent, not by its own method (knex)', () => {
    // instrumentation-knex: the builder's method as the operation, the table with its alias.
    const knex = (method: string, table: string, text: string) =>
      clientOperation(span({ ...base, name: `${method} shop.${table}`, attributes: { 'db.system.name': 'postgresql', 'db.operation.name': method, 'db.collection.name': table, 'db.query.text': text } }));
    expect(knex('first', 'orders as o', 'select "o".* from "orders" as "o" where "o"."id" = ? limit ?')).toBe('SELECT orders');
    expect(knex('del', 'orders', 'delete from "orders" where "id" = ?')).toBe('DELETE orders');
    expect(knex('select', 'orders as o', 'select "o".* from "orders" as "o"')).toBe('SELECT orders');
    expect(knex('insert', 'orders', 'insert into "orders" ("id") values (?)')).toBe('INSERT orders');
    // A statement of no table is its verb, as a driver's is; without a statement, the method names it (no alias).
    expect(knex('columnInfo', 'orders as o', 'PRAGMA table_info(`orders`)')).toBe('PRAGMA');
    expect(clientOperation(span({ ...base, name: 'x', attributes: { 'db.system.name': 'postgresql', 'db.operation.name': 'pluck', 'db.collection.name': 'orders o' } }))).toBe('PLUCK orders');
    // Another kind of database names its own commands: no statement is read.
    expect(clientOperation(span({ ...base, name: 'find', attributes: { 'db.system.name': 'mongodb', 'db.operation.name': 'find', 'db.collection.name': 'users', 'db.query.text': '{"filter":{}}' } }))).toBe('FIND users');
  });

  it('names a table by all its parts, quoted or not: `shop`.`orders`, "shop"."orders", [dbo].[orders]', () => {
    const sql = (text: string) => clientOperation(span({ ...base, name: 'SELECT', attributes: { 'db.system.name': 'mysql', 'db.query.text': text } }));
    expect(sql('SELECT `Product`.`id` AS `Product_id` FROM `shop`.`products` `Product` WHERE `Product`.`id` = ?')).toBe('SELECT shop.products');
    expect(sql('UPDATE `shop`.`stock` SET qty = qty - 1 WHERE product_id = ?')).toBe('UPDATE shop.stock');
    expect(sql('INSERT INTO `shop`.`orders` (id) VALUES (?)')).toBe('INSERT shop.orders');
    expect(sql('SELECT * FROM "shop"."products" WHERE id = $1')).toBe('SELECT shop.products');
    expect(sql('DELETE FROM [dbo].[sessions] WHERE id = @p1')).toBe('DELETE dbo.sessions');
    expect(sql('SELECT * FROM shop.products')).toBe('SELECT shop.products');
    // PostgreSQL's ONLY is no table.
    expect(sql('DELETE FROM ONLY orders WHERE id = $1')).toBe('DELETE orders');
    expect(sql('SELECT * FROM ONLY "shop"."orders"')).toBe('SELECT shop.orders');
    // Tables of one schema stay apart.
    expect(sql('SELECT * FROM `shop`.`stock`')).not.toBe(sql('SELECT * FROM `shop`.`products`'));
  });

  it('names a database call whose span name is the raw statement from its verb and table: literals never make names', () => {
    const db = (name: string) => clientOperation(span({ ...base, name, attributes: { 'db.system': 'mysql' } }));
    expect(db('SELECT * FROM users WHERE id = 597056')).toBe('SELECT users');
    expect(db('select u.name from public.users u join orders o on o.user_id = u.id where u.id = 4')).toBe('SELECT public.users');
    expect(db('/* request 81 */ INSERT INTO `orders` (id, total) VALUES (81, 9.5)')).toBe('INSERT orders');
    expect(db('UPDATE "stock" SET n = n - 1 WHERE sku = \'A-1\'')).toBe('UPDATE stock');
    expect(db('DELETE FROM sessions WHERE expires < 1764500000')).toBe('DELETE sessions');
    expect(db('(SELECT 1 AS one, 2 AS two, 3 AS three)')).toBe('SELECT');
    expect(db('HGETALL user:1234 profile settings')).toBe('HGETALL');
    // Still one operation per statement kind and table, whatever the literals.
    expect(new Set(Array.from({ length: 50 }, (_, i) => db(`SELECT name, email FROM users WHERE id = ${i * 7919}`)))).toEqual(new Set(['SELECT users']));
  });

  it('names a database call whose span name says no table by its statement: `get: SELECT`, `SELECT`, `pg.query:SELECT db`', () => {
    const call = (name: string, attributes: Record<string, string>) => clientOperation(span({ ...base, name, attributes }));
    expect(call('get: SELECT', { 'db.system.name': 'sqlite', 'db.query.text': 'SELECT id, stock FROM items WHERE sku = ?' })).toBe('SELECT items');
    expect(call('SELECT', { 'db.system': 'mysql', 'db.statement': 'SELECT * FROM `orders` WHERE id = 7' })).toBe('SELECT orders');
    expect(call('pg.query:SELECT shop', { 'db.system': 'postgresql', 'db.name': 'shop', 'db.statement': 'select * from carts where id = $1' })).toBe('SELECT carts');
    // A statement naming no table leaves the span's name; so does a name that already says the table.
    expect(call('BEGIN', { 'db.system': 'postgresql', 'db.statement': 'BEGIN' })).toBe('BEGIN');
    expect(call('get', { 'db.system': 'redis', 'db.statement': 'get user:1' })).toBe('GET');
    expect(call('SELECT orders', { 'db.system.name': 'postgresql', 'db.operation.name': 'SELECT', 'db.collection.name': 'orders', 'db.query.text': 'SELECT 1 FROM items' })).toBe('SELECT orders');
    // MongoDB's older conventions name the collection `db.mongodb.collection`.
    expect(call('mongodb.find', { 'db.system': 'mongodb', 'db.operation': 'find', 'db.mongodb.collection': 'users' })).toBe('FIND users');
    // Still one operation per statement kind and table, whatever the literals or the statement's length.
    const long = (i: number) => `SELECT ${'a, '.repeat(150)}b FROM users WHERE id = ${i}`;
    expect(new Set(Array.from({ length: 20 }, (_, i) => call('SELECT', { 'db.system': 'mysql', 'db.statement': long(i) })))).toEqual(new Set(['SELECT users']));
  });

  it('infers errors from status, then HTTP codes', () => {
    expect(isErrorSpan(span({ ...base, name: 'x', status: 'error' }), false)).toBe(true);
    expect(isErrorSpan(span({ ...base, name: 'x', status: 'ok', attributes: { 'http.status_code': 500 } }), false)).toBe(false);
    expect(isErrorSpan(span({ ...base, name: 'x', attributes: { 'http.response.status_code': 503 } }), false)).toBe(true);
    expect(isErrorSpan(span({ ...base, name: 'x', attributes: { 'http.response.status_code': 404 } }), false)).toBe(false);
    expect(isErrorSpan(span({ ...base, name: 'x', attributes: { 'http.response.status_code': 404 } }), true)).toBe(true);
    // A request served with a 4xx is no failure of the server's, also where the tracer marks it failed (aiozipkin tags every 404 `error`).
    expect(isErrorSpan(span({ ...base, name: 'x', status: 'error', attributes: { 'http.status_code': 404 } }), false)).toBe(false);
    expect(isErrorSpan(span({ ...base, name: 'x', status: 'error', attributes: { 'http.status_code': 404 } }), true)).toBe(true);
    expect(isErrorSpan(span({ ...base, name: 'x', status: 'error', attributes: { 'http.status_code': 500 } }), false)).toBe(true);
  });

  it("reads a message handler's recorded exception without a status as a failure (bullmq-otel's failed job), not another span's", () => {
    const threw = { 'exception.type': 'Error', 'exception.message': 'mailer 500' };
    expect(isErrorSpan(span({ ...base, name: 'process receipts', kind: 'consumer', status: 'unset', attributes: threw }), false)).toBe(true);
    expect(isErrorSpan(span({ ...base, name: 'add receipts.send-receipt', kind: 'producer', status: 'unset', attributes: { 'exception.message': 'Connection is closed.' } }), true)).toBe(true);
    expect(isErrorSpan(span({ ...base, name: 'process receipts', kind: 'consumer', status: 'unset' }), false)).toBe(false);
    expect(isErrorSpan(span({ ...base, name: 'process receipts', kind: 'consumer', status: 'ok', attributes: threw }), false)).toBe(false);
    // A server or client span records exceptions it handled (a retry that then succeeded): its status or code says.
    expect(isErrorSpan(span({ ...base, name: 'GET /a', kind: 'server', status: 'unset', attributes: threw }), false)).toBe(false);
    expect(isErrorSpan(span({ ...base, name: 'GET', kind: 'client', status: 'unset', attributes: threw }), true)).toBe(false);
  });
});

describe('RPC peers', () => {
  const call = (attributes: Record<string, string> | undefined, name = 'Charge') =>
    peerName(span({ service: 'gateway', name, kind: 'client', startTime: 1, endTime: 2, ...(attributes ? { attributes: { 'rpc.system': 'grpc', 'server.address': '10.0.0.7', ...attributes } } : {}) }));

  it('are named by the service part of the RPC, lower-cased', () => {
    expect(call({ 'rpc.service': 'hipstershop.PaymentService' })).toBe('paymentservice');
    expect(call({ 'rpc.service': 'shop.Stock' })).toBe('stock');
    expect(call(undefined, 'catalog.Catalog/GetItem')).toBe('catalog');
  });

  it('two services whose last part is generic (`payments.v1.Service`, `orders.v1.Service`) stay two: named by their package', () => {
    expect(call({ 'rpc.service': 'payments.v1.Service' })).toBe('payments');
    expect(call({ 'rpc.service': 'orders.v1.Service' })).toBe('orders');
    expect(call({ 'rpc.service': 'shop.API' })).toBe('shop');
    expect(call(undefined, '/payments.v1.Service/Charge')).toBe('payments');
    expect(call({ 'rpc.service': 'grpc.health.v1.Health' })).toBe('health');
    // Nothing else to go by: the name as it is.
    expect(call({ 'rpc.service': 'Service' })).toBe('service');
  });
});

describe('connection errors', () => {
  it('reads the address a failed connection names, as each runtime and driver writes it', () => {
    const cases: Array<[string, string, string | undefined]> = [
      ['connect ECONNREFUSED 127.0.0.1:3307', '127.0.0.1', '3307'],
      ['connect ECONNREFUSED ::1:5432', '::1', '5432'],
      ['Error: connect ECONNREFUSED [::1]:6379', '::1', '6379'],
      ['connect ETIMEDOUT 10.0.0.5:5432 (pool)', '10.0.0.5', '5432'],
      ['getaddrinfo ENOTFOUND db.internal', 'db.internal', undefined],
      ['dial tcp 10.0.0.5:5432: connect: connection refused', '10.0.0.5', '5432'],
      ['dial tcp [fd00::5]:6379: i/o timeout', 'fd00::5', '6379'],
      ['connection to server at "db" (10.0.0.5), port 5432 failed: Connection refused', 'db', '5432'],
      ['Connection to db.internal:5432 refused. Check that the hostname and port are correct', 'db.internal', '5432'],
      ['io.netty.channel.AbstractChannel$AnnotatedConnectException: Connection refused: redis/10.0.0.7:6379', 'redis', '6379'],
      ['Connection refused: /10.0.0.7:6379', '10.0.0.7', '6379'],
      ["HTTPConnectionPool(host='inventory', port=8080): Max retries exceeded with url: /stock", 'inventory', '8080'],
      ['No connection could be made because the target machine actively refused it. 127.0.0.1:5432', '127.0.0.1', '5432'],
      ["Cannot connect to host stock:8080 ssl:default [Connect call failed ('10.0.0.9', 8080)]", 'stock', '8080'],
    ];
    for (const [message, host, port] of cases) expect(connectTarget(message), message).toEqual({ host, port });
    for (const message of ['read ECONNRESET', 'fetch failed', 'duplicate key value violates unique constraint', 'ECONNREFUSED', ''])
      expect(connectTarget(message), message).toBeUndefined();
  });

  it('tells a refused connection in the words of each runtime', () => {
    for (const message of [
      'connect ECONNREFUSED 127.0.0.1:3307',
      'dial tcp 10.0.0.5:5432: connect: connection refused',
      'No connection could be made because the target machine actively refused it. 127.0.0.1:5432',
      "Cannot connect to host stock:8080 ssl:default [Connect call failed ('10.0.0.9', 8080)]",
      '[Errno 111] Connection refused',
      "OSError: [Errno 111] Connect call failed ('127.0.0.1', 8080)",
    ])
      expect(saysRefused(message), message).toBe(true);
    for (const message of ['read ECONNRESET', 'connect ETIMEDOUT 10.0.0.5:5432', 'Cannot connect to host stock:8080 ssl:default [Timeout]', 'Not Found'])
      expect(saysRefused(message), message).toBe(false);
  });

  it('matches a peer by host and port, this machine under any of its names', () => {
    expect(sameAddress({ host: '127.0.0.1', port: '3307' }, { host: 'localhost', port: '3307' })).toBe(true);
    expect(sameAddress({ host: '::1', port: '3307' }, { host: '127.0.0.1', port: '3307' })).toBe(true);
    expect(sameAddress({ host: 'DB.internal', port: undefined }, { host: 'db.internal', port: '5432' })).toBe(true);
    expect(sameAddress({ host: '127.0.0.1', port: '3307' }, { host: '127.0.0.1', port: '5432' })).toBe(false);
    expect(sameAddress({ host: '10.0.0.5', port: '5432' }, { host: '10.0.0.6', port: '5432' })).toBe(false);
  });
});

describe('span validation', () => {
  it('accepts a good span', () => {
    expect(rejectReason(span({ ...base, name: 'x' }))).toBeNull();
  });
  it.each([
    ['missing trace id', { traceId: '' }, 'invalid'],
    ['missing service', { service: '' }, 'invalid'],
    ['non-string name', { name: 5 }, 'invalid'],
    ['NaN end', { endTime: Number.NaN }, 'badTime'],
    ['negative duration', { endTime: 900 }, 'badTime'],
    ['infinite start', { startTime: Number.POSITIVE_INFINITY }, 'badTime'],
    ['string time', { startTime: '1000' }, 'badTime'],
  ])('rejects %s', (_label, patch, reason) => {
    expect(rejectReason({ ...span({ ...base, name: 'x' }), ...patch })).toBe(reason);
  });
  it('rejects non-objects', () => {
    expect(rejectReason(null)).toBe('invalid');
    expect(rejectReason('span')).toBe('invalid');
  });
});
