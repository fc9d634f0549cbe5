import type { AttributeValue, Span } from '../types.js';
import { opKey } from '../keys.js';
import { cut } from './bound.js';
import { MAX_GRAPHQL_DOCUMENTS, MAX_GRAPHQL_OPERATIONS } from '../limits.js';
import { anonymousSelections } from './graphql.js';
import { learnedBudget, PathNames } from './paths.js';
import { RouteTemplates, fitsRoute } from './routes.js';

/**
 * Operation identity: service + a low-cardinality operation name. Raw URLs never become names: we use
 * `METHOD route` when the route is known, otherwise the span name with id-like path segments folded to
 * `:id`, so `GET /users/123` and `GET /users/456` are one operation.
 */

/**
 * A path segment that is an id: a number, a UUID, 16+ hex digits, any segment with 3+ digits, or a token of
 * 8+ word characters with 2 digits, or with 1 and both cases (`ord_8sK2`, `txCJLPRBusW83N`: base62 ids,
 * which random letters make digit-poor). Words with one digit (`oauth2callback`) stay.
 */
const ID_SEGMENT = new RegExp(
  String.raw`\/(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,}` +
    String.raw`|[^/?#]*\d[^/?#]*\d[^/?#]*\d[^/?#]*` +
    String.raw`|(?=[\w-]{8,}(?:\/|$))[\w-]*\d[\w-]*\d[\w-]*` +
    String.raw`|(?=[\w-]{8,}(?:\/|$))(?=[\w-]*[a-z])(?=[\w-]*[A-Z])[\w-]*\d[\w-]*` +
    String.raw`)(?=\/|$)`,
  'g',
);

const HAS_DIGIT_OR_QUERY = /[\d?#]/;

/** Folds id-like path segments and drops query strings, so a raw path is safe as an operation name. */
export function foldPath(name: string): string {
  // Hot path: most names have no digits and no query, and need no regex work at all.
  if (!HAS_DIGIT_OR_QUERY.test(name)) return name;
  const q = queryStart(name);
  const base = q >= 0 ? name.slice(0, q) : name;
  return base.indexOf('/') >= 0 ? base.replace(ID_SEGMENT, '/:id') : base;
}

/**
 * Where a name's query or fragment starts (-1: nowhere). A `#` starts a fragment only after a `/` (in a
 * path or URL): in `OrdersController#show` (Rails' action spans, Ruby's `Class#method`) it is the name's.
 */
function queryStart(name: string): number {
  const q = name.indexOf('?');
  const hash = name.indexOf('#');
  if (hash < 0 || (q >= 0 && q < hash)) return q;
  return name.lastIndexOf('/', hash) >= 0 ? hash : q;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** The database system a span names (stable `db.system.name`, else legacy `db.system`). */
function dbSystem(a: Readonly<Record<string, AttributeValue>>): string | undefined {
  return str(a['db.system.name']) ?? str(a['db.system']);
}

/**
 * The SQL statement of a database call as Zipkin's tracers tag it: `sql.query` (Brave's JDBC, p6spy,
 * MySQL and jOOQ instrumentations, zipkin-go's zipkinsql), `jdbc.query` (Spring Cloud Sleuth's JDBC). Such
 * spans have no `db.system`: the tag says both that the span is a database call and what it ran.
 */
function zipkinStatement(a: Readonly<Record<string, AttributeValue>>): string | undefined {
  return str(a['sql.query']) ?? str(a['jdbc.query']);
}

/** HTTP method from stable or legacy semantic conventions. */
export function httpMethod(span: Span): string | undefined {
  const a = span.attributes;
  return a ? str(a['http.request.method']) ?? str(a['http.method']) : undefined;
}

/** HTTP status code from stable or legacy semantic conventions. */
export function httpStatus(span: Span): number | undefined {
  const a = span.attributes;
  if (!a) return undefined;
  const v = a['http.response.status_code'] ?? a['http.status_code'];
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

/**
 * What a failed span says went wrong: its status message, else `exception.message`, instrumentation-grpc's
 * `grpc.error_message`, or `exception.type`.
 */
export function errorMessage(span: Span): string | undefined {
  if (typeof span.statusMessage === 'string' && span.statusMessage.length > 0) return span.statusMessage;
  const a = span.attributes;
  return a === undefined ? undefined : str(a['exception.message']) ?? str(a['grpc.error_message']) ?? str(a['exception.type']);
}

/** Whether a span answered with a 4xx: the request was refused as the client's fault. */
export function isClientError(span: Span): boolean {
  const code = httpStatus(span);
  return code !== undefined && code >= 400 && code < 500;
}

/** `METHOD /route`, with id-like segments of a raw path used as a route folded. */
function routeOperation(method: string, route: string): string {
  return cut(`${method} ${foldPath(route)}`);
}

/** An App Router route handler's file path as Next.js gives it for `http.route` (`/app/api/checkout/route`). */
const NEXT_ROUTE_FILE = /^\/app((?:\/[^/]+)*)\/route$/;
/** Segments of an App Router path that are not in its URL: route groups `(shop)`, parallel routes `@modal`. */
const NEXT_UNSEEN_SEGMENT = /\/(?:\([^/]*\)|@[^/]*)(?=\/|$)/g;

/**
 * The route a server span names: `http.route`, except that of a Next.js App Router route handler, which is
 * its file's path (`/app/api/checkout/route`, as Next.js sets it): the URL's route (`/api/checkout`), when
 * the path the request went to fits it (no other framework's route that merely reads so is changed).
 */
function servedRoute(a: Readonly<Record<string, AttributeValue>> | undefined): string | undefined {
  if (a === undefined) return undefined;
  const route = str(a['http.route']);
  // Named for every server span: the pattern runs only on a route that ends as a route handler's file does.
  if (route === undefined || !route.endsWith('/route')) return route;
  const file = NEXT_ROUTE_FILE.exec(route);
  if (file === null) return route;
  const url = file[1].replace(NEXT_UNSEEN_SEGMENT, '') || '/';
  const path = pathAttribute(a);
  return path !== undefined && fitsRoute(url, path) ? url : route;
}

/** The path (with query) an HTTP span names: `url.path`, else the older conventions' `http.target`. */
function pathAttribute(a: Readonly<Record<string, AttributeValue>>): string | undefined {
  return str(a['url.path']) ?? str(a['http.target']);
}

/**
 * Operation name of a span handled by its own service (server/consumer/entry spans). A route-less span
 * named only by its method is named by its path, as `pathName` names it (undefined: by the method).
 */
export function serverOperation(span: Span, pathName: (operation: string) => string | undefined = (operation) => operation): string {
  const a = span.attributes;
  const method = httpMethod(span);
  const route = servedRoute(a);
  if (method && route) return routeOperation(method, route);
  const rpc = rpcOperation(span);
  if (rpc !== undefined) return rpc;
  // Named by the method (possibly as `HTTP GET`: older conventions) or a handler's label, the path names it; named by a path
  // without the method (`/api/orders/{id}`, some Java agents), the method joins it: GET and POST of one path
  // are two operations. Past the path names, the method alone, as OTel names such spans.
  const byPath = pathOperation(span) ?? (method !== undefined && span.name.charCodeAt(0) === 47 ? routeOperation(method, span.name) : undefined);
  if (byPath === undefined) return foldPath(span.name);
  return pathName(byPath) ?? (method as string);
}

/** `Service/Method` of an RPC server span. */
function rpcOperation(span: Span): string | undefined {
  const a = span.attributes;
  const rpcService = a ? str(a['rpc.service']) : undefined;
  const rpcMethod = a ? str(a['rpc.method']) : undefined;
  return rpcService && rpcMethod ? cut(`${rpcService}/${rpcMethod}`) : undefined;
}

/**
 * A route-less HTTP server span (a bare `http` server) named only by its method, or by a label of the
 * whole handler ({@link isHandlerLabel}): `METHOD path`, ids folded, as APM tools name such endpoints.
 * Undefined when the span has a route, a name of its own, or no path.
 */
function pathOperation(span: Span): string | undefined {
  const a = span.attributes;
  const method = httpMethod(span);
  if (!method || !a || a['http.route'] !== undefined || !(isMethodName(span.name, method) || isHandlerLabel(span.name))) return undefined;
  // OpenTracing-era tracers (Jaeger clients) record only the full URL, on both ends.
  const path = requestPath(span);
  return path !== undefined ? routeOperation(method, path) : undefined;
}

/** The path (with query) a server span was requested at: `url.path`/`http.target`, else its URL's. */
function requestPath(span: Span): string | undefined {
  const a = span.attributes;
  if (a === undefined) return undefined;
  const url = str(a['url.full']) ?? str(a['http.url']);
  const path = pathAttribute(a) ?? (url === undefined ? undefined : pathOfUrl(url));
  return path !== undefined && path.charCodeAt(0) === 47 ? path : undefined;
}

/** The path (with query) of a URL (`url.full`, `http.url` in the older conventions), if it has one. */
function pathOfUrl(url: string): string | undefined {
  const scheme = url.indexOf('://');
  if (scheme < 0) return url.charCodeAt(0) === 47 ? url : undefined;
  const slash = url.indexOf('/', scheme + 3);
  return slash < 0 ? undefined : url.slice(slash);
}

/**
 * The path an HTTP client span called, when its name says no more than the method (OpenTelemetry names
 * HTTP client spans `GET`): its template (`url.template`, `/users/{id}`, where the client knows it), else
 * from `url.full` (`http.url` in the older conventions), else `url.path`/`http.target`; undefined
 * otherwise. Query and fragment are left for {@link foldPath} to drop.
 */
function clientPath(span: Span, method: string): string | undefined {
  const a = span.attributes;
  if (!a || !isMethodName(span.name, method)) return undefined;
  const template = str(a['url.template']);
  if (template !== undefined && template.charCodeAt(0) === 47) return template;
  const url = str(a['url.full']) ?? str(a['http.url']);
  if (url !== undefined) return pathOfUrl(url);
  const path = pathAttribute(a);
  return path !== undefined && path.charCodeAt(0) === 47 ? path : undefined;
}

/**
 * Whether `name` says no more than the HTTP method: `GET` (stable conventions), `HTTP GET` (older ones),
 * `get` (Zipkin's Brave and zipkin-js), or the method and the URL called (`fetch GET http://catalog/items/7`,
 * as Next.js names its fetches; `GET https://…`).
 */
function isMethodName(name: string, method: string): boolean {
  if (name === method) return true;
  if (name.length === method.length) return name.toUpperCase() === method.toUpperCase();
  if (name.length === method.length + 5 && name.startsWith('HTTP ') && name.endsWith(method)) return true;
  const at = name.startsWith(FETCH) ? FETCH.length : 0;
  return name.startsWith(method, at) && name.charCodeAt(at + method.length) === 32 && URL_START.test(name.slice(at + method.length + 1));
}

/**
 * Whether a server span's name is one bare word (`server`, `http-server`, `api`), or `/`: the label Go's
 * otelhttp gives every request its handler serves (`otelhttp.NewHandler(mux, "server")`, or the mux's
 * mount point `"/"`), which says nothing of which endpoint was asked for. A name with more to it
 * (`checkout handler`, `OrdersController#show`, `OrderResource.on_get`, a path) is the framework's or the
 * author's name for the endpoint, and stays.
 */
function isHandlerLabel(name: string): boolean {
  return name === '/' || (name.length <= MAX_LABEL && HANDLER_LABEL.test(name));
}

const HANDLER_LABEL = /^[A-Za-z][\w-]*$/;
const MAX_LABEL = 64;

const FETCH = 'fetch ';
/** How a URL or path written after the method starts. */
const URL_START = /^(?:https?:\/\/|\/)/;

/** How amqplib's spans name RabbitMQ's default (nameless) exchange. */
const DEFAULT_EXCHANGE = '<default>';

/** Operation name of a client span as seen on the peer it calls (used for uninstrumented peers). */
export function clientOperation(span: Span): string {
  const a = span.attributes;
  if (a) {
    const dbOp = str(a['db.operation.name']) ?? str(a['db.operation']);
    if (dbOp !== undefined || a['db.system'] !== undefined || a['db.system.name'] !== undefined || zipkinStatement(a) !== undefined) {
      // One node per table and statement kind, as OTel's DB span names are: `SELECT orders`.
      const table = str(a['db.collection.name']) ?? str(a['db.sql.table']) ?? str(a['db.mongodb.collection']);
      const text = str(a['db.query.text']) ?? str(a['db.statement']) ?? zipkinStatement(a);
      const sql = text !== undefined && !NOT_SQL.has(dbSystem(a) ?? '');
      if (dbOp && table) {
        const verb = dbOp.toUpperCase();
        // A query builder's method (knex: `first`, `del`, `pluck`) is no statement: the one it sent says what ran.
        return (sql && !SQL_VERBS.has(verb) ? sqlStatement(text) : undefined) ?? cut(`${verb} ${unaliased(table)}`);
      }
      // Names like `SELECT`, `get: SELECT` or `pg.query:SELECT mydb` say no table: the statement does.
      // A statement of no table (`BEGIN`, `COMMIT`, `SELECT 1`) is its verb: a driver's span name for it
      // carries the database too (`pg.query:BEGIN shop`).
      const fromText = sql ? sqlStatement(text) : undefined;
      if (fromText !== undefined) return fromText;
      const command = storeCommand(span.name, dbSystem(a), dbOp);
      if (command !== undefined) return command;
      // A short span name follows the `{operation} {target}` convention; a long one is raw SQL (or a
      // command with its arguments), named like the convention from its verb and table.
      if (span.name.length > 0 && span.name.length <= 64 && isShortName(span.name)) return foldPath(span.name);
      const statement = statementOperation(span.name);
      if (statement !== undefined) return statement;
      if (dbOp) return dbOp.toUpperCase();
    }
    const rpcMethod = str(a['rpc.method']);
    if (rpcMethod) return str(a['rpc.service']) ? cut(`${a['rpc.service']}/${rpcMethod}`) : rpcMethod;
    // RabbitMQ's default exchange routes by queue name: `publish <default>` (amqplib) says which queue only in its routing key.
    if (span.name.endsWith(DEFAULT_EXCHANGE)) {
      const key = str(a['messaging.rabbitmq.destination.routing_key']) ?? str(a['messaging.rabbitmq.routing_key']);
      if (key !== undefined) return foldPath(`${span.name.slice(0, -DEFAULT_EXCHANGE.length)}${key}`);
    }
  }
  const method = httpMethod(span);
  if (method) return method;
  return foldPath(span.name);
}

/**
 * `METHOD path` of an HTTP call that names a path ({@link clientPath}; ids folded, no query), for telling a
 * peer's operations apart by the calls that reach them; undefined for other calls.
 */
export function calledPath(span: Span): string | undefined {
  const method = httpMethod(span);
  if (method === undefined) return undefined;
  const path = clientPath(span, method);
  return path === undefined ? undefined : routeOperation(method, path);
}

/** A table as a query builder may name it, without its alias (knex: `orders as o`). */
function unaliased(table: string): string {
  const space = table.indexOf(' ');
  return space > 0 ? table.slice(0, space) : table;
}

/** What follows `START` in `START TRANSACTION`. */
const TRANSACTION = /^\s+TRANSACTION\b/i;
/** A statement's verb, after blanks, parentheses and comments. */
const STATEMENT_VERB = /^(?:\s|\(|\/\*[\s\S]{0,256}?\*\/|--[^\n]{0,256}\n)*([A-Za-z]{2,16})(?![\w.])/;
/** A name, bare or quoted (`"…"`, backticks, `[…]`); a table is one or more, joined by dots (`"shop"."orders"`). */
const IDENTIFIER = String.raw`(?:[\w$]+|"[^"]{1,64}"|\x60[^\x60]{1,64}\x60|\[[^\]]{1,64}\])`;
const TABLE = String.raw`(${IDENTIFIER}(?:\.${IDENTIFIER})*)`;
// PostgreSQL's `ONLY` (no inherited tables) comes before the table.
const FROM_TABLE = new RegExp(String.raw`\bFROM\s+(?:ONLY\s+)?${TABLE}`, 'i');
const INTO_TABLE = new RegExp(String.raw`\bINTO\s+${TABLE}`, 'i');
/** Where a statement names its table, by verb. */
const STATEMENT_TABLE: Readonly<Record<string, RegExp>> = {
  SELECT: FROM_TABLE,
  // A common table expression: the first table it reads.
  WITH: FROM_TABLE,
  DELETE: FROM_TABLE,
  INSERT: INTO_TABLE,
  REPLACE: INTO_TABLE,
  MERGE: INTO_TABLE,
  UPDATE: new RegExp(String.raw`\bUPDATE\s+(?:ONLY\s+)?${TABLE}`, 'i'),
};

/**
 * A read that takes row locks: PostgreSQL's `FOR UPDATE`/`FOR NO KEY UPDATE`/`FOR SHARE`/`FOR KEY SHARE`
 * (MySQL's first and third too), MySQL's `LOCK IN SHARE MODE`. Group 1 is `UPDATE` for the exclusive ones.
 */
const LOCKING_READ = /\bFOR\s+(?:NO\s+KEY\s+)?(UPDATE)\b|\bFOR\s+(?:KEY\s+)?SHARE\b|\bLOCK\s+IN\s+SHARE\s+MODE\b/i;
/** The function a `SELECT` of no table calls first (`SELECT pg_sleep($1)`, `SELECT nextval('ids')`). */
const SELECTED_FUNCTION = /^\s*(?:ALL\s+|DISTINCT\s+)?([A-Za-z_][\w.]{0,63})\s*\(/i;

/**
 * `VERB table` of a raw statement used as a span name (`SELECT * FROM users WHERE id = 7` → `SELECT users`,
 * as OTel names database spans), the verb alone when it names no table (`HGETALL user:1 a b` → `HGETALL`);
 * undefined when the text does not start with a word. Literals never reach the name. A locking read is
 * named apart from the plain reads of its table (`SELECT products FOR UPDATE`: it waits for row locks, and
 * holds them), and a `SELECT` of no table by the function it calls (`SELECT pg_sleep`), not `SELECT` alone.
 */
export function statementOperation(text: string): string | undefined {
  const m = STATEMENT_VERB.exec(text);
  if (m === null) return undefined;
  const verb = m[1].toUpperCase();
  // `START` alone says nothing; `START TRANSACTION` is MySQL's (and standard SQL's) BEGIN.
  if (verb === 'START' && TRANSACTION.test(text.slice(m[0].length))) return 'START TRANSACTION';
  const table = STATEMENT_TABLE[verb]?.exec(text)?.[1]?.replace(/["\x60[\]]/g, '');
  if (verb !== 'SELECT') return table === undefined ? verb : cut(`${verb} ${table}`);
  if (table === undefined) {
    const fn = SELECTED_FUNCTION.exec(text.slice(m[0].length))?.[1];
    return fn === undefined ? verb : cut(`SELECT ${fn.toLowerCase()}`);
  }
  const lock = LOCKING_READ.exec(text);
  return cut(`SELECT ${table}${lock === null ? '' : lock[1] === undefined ? ' FOR SHARE' : ' FOR UPDATE'}`);
}

/**
 * Statements {@link sqlStatement} has answered for, up to {@link SHORT_NAMES_MAX} of at most
 * {@link CACHED_STATEMENT_LENGTH} characters (≤ 1 MB): a driver's prepared statements repeat per call.
 */
const sqlStatements = new Map<string, string | null>();
const CACHED_STATEMENT_LENGTH = 256;

/**
 * Database systems (OpenTelemetry's `db.system.name` values) whose commands are not SQL, though some share
 * a keyword (Redis `SET`, `SELECT`, `EXEC`): their spans are named by their command as the client names it.
 */
const NOT_SQL: ReadonlySet<string> = new Set(['redis', 'valkey', 'memcached', 'mongodb', 'elasticsearch', 'opensearch', 'aws.dynamodb', 'dynamodb', 'couchdb', 'hbase', 'geode', 'neo4j']);

/** Key-value stores whose calls are one command each, named as their docs write them (`GET`, `HGETALL`). */
const COMMAND_STORES: ReadonlySet<string> = new Set(['redis', 'valkey', 'memcached']);
/** One command word (ioredis names its spans `get`, node-redis `redis-GET`). */
const COMMAND = /^[A-Za-z][A-Za-z_.]{0,31}$/;

/**
 * The command of a call to a key-value store, in capitals: its `db.operation.name`, else its span name
 * without the store's name before it. Undefined for other systems, and for a name that is no one command.
 */
function storeCommand(name: string, system: string | undefined, dbOp: string | undefined): string | undefined {
  if (system === undefined || !COMMAND_STORES.has(system)) return undefined;
  let command = dbOp ?? name;
  const sep = command.charCodeAt(system.length);
  if (command.length > system.length + 1 && command.startsWith(system) && (sep === 45 /* - */ || sep === 32 /* space */)) command = command.slice(system.length + 1);
  let upper = storeCommands.get(command);
  if (upper === undefined) {
    // A command queued in a transaction (ioredis: `MULTI lpush`) is that command.
    const queued = command.startsWith('MULTI ') ? command.slice(6) : command;
    upper = COMMAND.test(queued) ? queued.toUpperCase() : null;
    if (storeCommands.size < SHORT_NAMES_MAX) storeCommands.set(command, upper);
  }
  return upper ?? undefined;
}

/** Commands {@link storeCommand} has answered for, up to {@link SHORT_NAMES_MAX}: a store's few commands repeat per call. */
const storeCommands = new Map<string, string | null>();

/** Statement keywords of SQL (a text starting otherwise is a command of another kind of database). */
const SQL_VERBS: ReadonlySet<string> = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'MERGE', 'WITH', 'BEGIN', 'START', 'COMMIT', 'ROLLBACK', 'SAVEPOINT', 'RELEASE', 'SET', 'SHOW', 'CALL', 'EXEC', 'EXECUTE', 'PREPARE', 'DEALLOCATE', 'LOCK', 'VACUUM', 'ANALYZE', 'EXPLAIN', 'CREATE', 'ALTER', 'DROP', 'TRUNCATE', 'GRANT', 'REVOKE', 'COPY', 'LISTEN', 'NOTIFY', 'PRAGMA']);

/**
 * `VERB table` of a statement that names its table ({@link statementOperation}), or its verb alone when it
 * names none and is a SQL keyword; else undefined.
 */
function sqlStatement(text: string): string | undefined {
  let named = sqlStatements.get(text);
  if (named === undefined) {
    const op = statementOperation(text);
    named = op !== undefined && (op.indexOf(' ') > 0 || SQL_VERBS.has(op)) ? op : null;
    if (sqlStatements.size < SHORT_NAMES_MAX && text.length <= CACHED_STATEMENT_LENGTH) sqlStatements.set(text, named);
  }
  return named ?? undefined;
}

/** Names {@link isShortName} has answered for, up to {@link SHORT_NAMES_MAX}: a database span's name repeats per call. */
const shortNames = new Map<string, boolean>();
const SHORT_NAMES_MAX = 4096;

/** Whether a name (≤ 64 characters) has at most three words: the `{operation} {target}` convention, not raw SQL. */
function isShortName(name: string): boolean {
  // The scan costs several times a lookup of the same name (one per database call).
  let short = shortNames.get(name);
  if (short === undefined) {
    short = wordCount(name) <= 3;
    if (shortNames.size < SHORT_NAMES_MAX) shortNames.set(name, short);
  }
  return short;
}

/** Space-separated words in a short name, without allocating. */
function wordCount(name: string): number {
  let words = 0;
  let inWord = false;
  for (let i = 0; i < name.length; i++) {
    const space = name.charCodeAt(i) <= 32;
    if (!space && !inWord) words++;
    inWord = !space;
  }
  return words;
}

/** `pkg.Service/Method` (gRPC full method names, with or without a leading slash). */
const RPC_NAME = /^\/?(?:[A-Za-z_][\w]*\.)*([A-Za-z_]\w*)\/[A-Za-z_]\w*$/;

/**
 * The service an RPC is addressed to, from `rpc.service` or the `Service` part of a `pkg.Service/Method`
 * name: the last dotted segment, lower-cased (`hipstershop.PaymentService` → `paymentservice`), as the
 * services answering them are usually deployed. Undefined when `name` is no RPC name.
 */
export function rpcServiceOf(name: string): string | undefined {
  const m = RPC_NAME.exec(name);
  if (m === null) return undefined;
  const slash = name.lastIndexOf('/');
  return rpcServiceName(name.slice(name.charCodeAt(0) === 47 ? 1 : 0, slash));
}

/** `rpc.service` (named as in {@link rpcServiceOf}). */
function rpcServiceAttribute(v: unknown): string | undefined {
  const s = str(v);
  return s === undefined ? undefined : rpcServiceName(s);
}

/** A service's name that says nothing of which one it is (`payments.v1.Service`), or a package's version. */
const GENERIC_RPC_NAME = /^(?:service|services|api|rpc|grpc|server|v\d+\w*)$/;

/**
 * The last dotted segment of a fully qualified RPC service, lower-cased; a generic one (`Service`, `API`) is
 * named by its package's last segment that is neither generic nor a version (`payments.v1.Service` →
 * `payments`): else every such service of a system would be one peer, `service`.
 */
function rpcServiceName(full: string): string {
  const last = full.slice(full.lastIndexOf('.') + 1).toLowerCase();
  for (let end = full.length; end > 0; ) {
    const dot = full.lastIndexOf('.', end - 1);
    const segment = full.slice(dot + 1, end).toLowerCase();
    if (segment !== '' && !GENERIC_RPC_NAME.test(segment)) return segment;
    end = dot;
  }
  return last;
}

/** Whether an RPC-named span is addressed to another service than the one that recorded it. */
export function isRpcToOther(span: Span): boolean {
  const target = str(span.attributes?.['rpc.service']) !== undefined ? rpcServiceAttribute(span.attributes?.['rpc.service']) : rpcServiceOf(span.name);
  return target !== undefined && normalizedService(target) !== normalizedService(span.service);
}

/** A service name compared loosely: case, separators and a trailing `service` do not matter. */
function normalizedService(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '').replace(/service$/, '');
}

/** What {@link peerName} returns for a call that names no peer at all. */
export const UNKNOWN_PEER = 'unknown';

/** The peer name resolution calls reach, and the span names of OpenTelemetry's `dns` instrumentation. */
const DNS_PEER = 'dns';
const DNS_CALL = /^dns\.(?:lookup|lookupService|resolve\w*|reverse)$/;

/** Whether a span is a name lookup (OpenTelemetry's `dns` instrumentation): a call to the resolver. */
export function isNameLookup(span: Span): boolean {
  return span.name.startsWith('dns.') && DNS_CALL.test(span.name);
}

// An IPv6 address has a colon: a host name of hex letters (`ad`, `db`, `cafe`) is a name, not an address.
const LOCAL_OR_IP = /^(?:localhost|\d{1,3}(?:\.\d{1,3}){3}|\[?[0-9a-f]*:[0-9a-f:]*\]?)$/i;

/**
 * Name of the node a client span calls, as the Collector's service graph names virtual nodes:
 * `peer.service`, then the database system (`postgresql`), then the messaging system (`kafka`), then the server
 * host name, then the RPC's service (`rpc.service`; before a bare IP or localhost address, which names no
 * service), then such an address with its port (the port is what tells services apart there), else the
 * `Service` of a `pkg.Service/Method` span name (see {@link rpcServiceOf}). Spans from tracers that record
 * no attributes are named by the RPC alone.
 */
export function peerName(span: Span): string {
  const a = span.attributes;
  // A name lookup calls the resolver: its only address attribute is the answer (instrumentation-dns's
  // `peer.ipv4`), which names no peer. Without this a lookup made outside any call (a server's `listen`, a
  // pool's first connect) named none, and stayed on its caller as a peer of the service's own name.
  if (isNameLookup(span)) return DNS_PEER;
  if (!a) return rpcServiceOf(span.name) ?? UNKNOWN_PEER;
  const peer = str(a['peer.service']);
  if (peer) return peer;
  const db = dbSystem(a);
  if (db) return db;
  // The broker, as a database is its system: the topic is in the operation (`orders publish`), and a topic
  // named like a service (`orders`) must not become that service.
  const messaging = messagingSystem(a);
  if (messaging) return messaging;
  const address = hostOf(a);
  if (address) {
    if (!LOCAL_OR_IP.test(address)) return address;
    // A bare IP names no service; an RPC names its own (`shop.Stock`).
    const rpc = rpcServiceAttribute(a['rpc.service']);
    if (rpc) return rpc;
    const port = portOf(a);
    return port !== undefined ? cut(`${address}:${port}`) : address;
  }
  return rpcServiceAttribute(a['rpc.service']) ?? rpcServiceOf(span.name) ?? UNKNOWN_PEER;
}

/** A network address: a host (name or IP) and, when known, a port. */
export interface Address {
  host: string;
  port: string | undefined;
}

/** The address a client span called, from its address attributes; undefined without. */
export function peerAddress(span: Span): Address | undefined {
  const a = span.attributes;
  if (a === undefined) return undefined;
  const host = hostOf(a);
  if (host === undefined) return undefined;
  const port = portOf(a);
  return { host: unbracket(host), port: typeof port === 'number' || typeof port === 'string' ? String(port) : undefined };
}

/** The host a client span called (stable semconv's `server.address`, else the older `net.peer.name`). */
function hostOf(a: Readonly<Record<string, AttributeValue>>): string | undefined {
  return str(a['server.address']) ?? str(a['net.peer.name']);
}

/** The port a client span called (`server.port`, else `net.peer.port`), as the attribute holds it. */
function portOf(a: Readonly<Record<string, AttributeValue>>): AttributeValue | undefined {
  return a['server.port'] ?? a['net.peer.port'];
}

/**
 * The address a connection error names, in the forms runtimes and drivers write them: Node's (`connect
 * ECONNREFUSED 127.0.0.1:3307`, `connect ECONNREFUSED ::1:5432`, `getaddrinfo ENOTFOUND db.internal`), Go's
 * (`dial tcp 10.0.0.5:5432: connect: connection refused`), libpq's (`connection to server at "db" (10.0.0.5),
 * port 5432 failed`), JDBC's (`Connection to db:5432 refused`), Java's (`Connection refused: db/10.0.0.5:6379`),
 * urllib3's (`HTTPConnectionPool(host='db', port=8080): Max retries exceeded`), aiohttp's (`Cannot connect to
 * host db:8080 ssl:default [Connect call failed …]`) and .NET's (`… actively refused it. 10.0.0.5:5432`);
 * undefined for any other message.
 */
export function connectTarget(message: string): Address | undefined {
  for (const pattern of CONNECT_ERRORS) {
    const g = pattern.exec(message)?.groups;
    // Java names a host by its name and its address (`db/10.0.0.5`): the name, or the address without one.
    const host = g?.host || g?.ip;
    if (host) return { host: unbracket(host), port: g.port };
  }
  return undefined;
}

/** Connection errors, with the host (or ip) and port (optional) they name. */
const CONNECT_ERRORS: readonly RegExp[] = [
  // Node (libuv codes); the port is the last part after an IPv6 host's colons.
  /\b(?:ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNRESET|ENOTFOUND|EAI_AGAIN)\s+(?<host>\[[\w.:%-]+\]|[\w.:%-]+?)(?::(?<port>\d+))?(?=\s|$|[),;])/,
  /\bdial (?:tcp|udp)[46]? (?<host>\[[\w.:%-]+\]|[\w.-]+):(?<port>\d+): /,
  /\bconnection to server at "(?<host>[^"]+)"(?: \([^)]*\))?, port (?<port>\d+) failed/,
  /\bConnection to (?<host>[\w.-]+):(?<port>\d+) refused/,
  /\bConnection refused(?:: connect)?: (?<host>[\w.-]*)\/(?<ip>[\w.:%-]+?):(?<port>\d+)\b/,
  /\(host='(?<host>[^']+)', port=(?<port>\d+)\): Max retries exceeded/,
  /\bCannot connect to host (?<host>\[[\w.:%-]+\]|[\w.-]+):(?<port>\d+)\b/,
  /\bactively refused it\.? \(?(?<host>\[[\w.:%-]+\]|[\w.-]+):(?<port>\d+)/,
];

/**
 * Whether a connection error's address (`named`) is a peer's (`address`): the same host and port, or the same
 * port on this machine under another of its names (`localhost` is `127.0.0.1` or `::1`); the host alone when
 * either has no port.
 */
export function sameAddress(named: Address, address: Address): boolean {
  const host = named.host.toLowerCase() === address.host.toLowerCase() || (LOOPBACK.test(named.host) && LOOPBACK.test(address.host));
  return host && (named.port === undefined || address.port === undefined || named.port === address.port);
}

const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|::1|0:0:0:0:0:0:0:1|::ffff:127(?:\.\d{1,3}){3})$/i;

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Client calls that wait for a pooled connection (`pg-pool.connect`, `generic-pool.acquire`, and its old `aquire`). */
const POOL_WAIT = /pool.*(connect|acquire|aquire)|(connect|acquire).*pool/i;

/** Whether an operation is a wait for a pooled connection: when it slows, the pool is saturated. */
export function isPoolWait(operation: string | null): boolean {
  return operation !== null && POOL_WAIT.test(operation);
}

/** Whether a span calls something that is not itself instrumented with a server span (a database, cache, queue). */
export function isDependencyCall(span: Span): boolean {
  const a = span.attributes;
  return a !== undefined && (a['db.system'] !== undefined || a['db.system.name'] !== undefined || messagingSystem(a) !== undefined || zipkinStatement(a) !== undefined);
}

/** The messaging system a span's attributes name: `messaging.system`, else `bullmq` for BullMQ's own (bullmq-otel). */
export function messagingSystem(a: Readonly<Record<string, AttributeValue>>): string | undefined {
  return str(a['messaging.system']) ?? (str(a['bullmq.queue.name']) !== undefined ? 'bullmq' : undefined);
}

/**
 * gRPC codes a server failed on (OpenTelemetry's gRPC conventions): UNKNOWN, DEADLINE_EXCEEDED,
 * UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS. Others (NOT_FOUND, ...) are the caller's problem.
 */
const GRPC_SERVER_ERRORS: ReadonlySet<number> = new Set([2, 4, 12, 13, 14, 15]);

/**
 * Whether a span failed. The status wins when set; with no status (other tracers, converted spans) a 5xx
 * answer or a gRPC server-error code counts, and on client spans any 4xx or non-zero gRPC code too, as
 * OpenTelemetry's HTTP and gRPC conventions say; on a consumer or producer span, an exception recorded.
 */
export function isErrorSpan(span: Span, asClient: boolean): boolean {
  // A request served with a 4xx is the client's mistake, also where the tracer marks it failed (Zipkin's
  // aiozipkin tags every 404 `error`; OTel leaves a server span's status unset for one), as APMs count them.
  if (span.status === 'error') return asClient || !isClientError(span);
  if (span.status === 'ok') return false;
  const code = httpStatus(span);
  if (code !== undefined) return code >= 500 || (asClient && span.status === undefined && code >= 400);
  const g = grpcStatus(span);
  if (g !== undefined) return g !== 0 && (GRPC_SERVER_ERRORS.has(g) || (asClient && span.status === undefined));
  // A message handled or sent that threw, from an instrumentation that records the exception and sets no
  // status (bullmq-otel: a failed job's span). Other kinds record exceptions they handle.
  const a = span.attributes;
  return (span.kind === 'consumer' || span.kind === 'producer') && a !== undefined && (a['exception.type'] !== undefined || a['exception.message'] !== undefined);
}

/** Whether a span says how it ended: an error or ok status, or an HTTP or gRPC status code. */
export function hasOutcome(span: Span): boolean {
  return span.status === 'error' || span.status === 'ok' || httpStatus(span) !== undefined || grpcStatus(span) !== undefined;
}

const TIMEOUT_TEXT = /time ?out|timed out|deadline|ETIMEDOUT|ESOCKETTIMEDOUT|ECONNABORTED/i;

/**
 * Words of a connection the callee's host refused: nothing listens there (Node, Python, Go, Java, .NET;
 * Python's asyncio and aiohttp say `Connect call failed`, its `OSError` `[Errno 111]`).
 */
const REFUSED_TEXT = /ECONNREFUSED|connection refused|actively refused|Connect call failed|\[Errno 111\]/i;

/**
 * Whether a failed call says its connection was refused: an answer from the callee's host, at once, that
 * nothing serves there (a process down), not a callee that took the call and never answered.
 */
export function looksRefused(span: Span): boolean {
  const message = errorMessage(span);
  return message !== undefined && saysRefused(message);
}

/** Whether an error message says a connection was refused (see {@link looksRefused}). */
export function saysRefused(message: string): boolean {
  return REFUSED_TEXT.test(message);
}

/**
 * Whether a client span recorded the callee's answer: an HTTP status other than 408 and 504, or a gRPC code
 * other than CANCELLED and DEADLINE_EXCEEDED. Such a caller did not give up, whatever the two services'
 * clocks say about when the callee finished.
 */
export function gotAnswer(span: Span): boolean {
  const code = httpStatus(span);
  if (code !== undefined) return code !== 408 && code !== 504;
  const g = grpcStatus(span);
  return g !== undefined && Number.isFinite(g) && g !== GRPC_CANCELLED && g !== GRPC_DEADLINE_EXCEEDED;
}

/** gRPC status codes of a call the caller stopped waiting for. */
const GRPC_CANCELLED = 1;
const GRPC_DEADLINE_EXCEEDED = 4;
/** gRPC's "the service is currently unavailable", HTTP's 503. */
const GRPC_UNAVAILABLE = 14;
const HTTP_UNAVAILABLE = 503;

/** gRPC's "out of a resource" (a quota, a rate limit, a full queue), HTTP's 429. */
const GRPC_RESOURCE_EXHAUSTED = 8;
const HTTP_TOO_MANY = 429;

/**
 * Whether a server span turned its request away for want of capacity: HTTP 429 or gRPC RESOURCE_EXHAUSTED (a
 * rate limit, a full bulkhead). Not the server's error by the semantic conventions, but its doing: the
 * client asked nothing wrong.
 */
export function answeredTooMany(span: Span): boolean {
  const code = httpStatus(span);
  return code !== undefined ? code === HTTP_TOO_MANY : grpcStatus(span) === GRPC_RESOURCE_EXHAUSTED;
}

/** Whether a span answered "unavailable": HTTP 503 or gRPC UNAVAILABLE (a transient state, a dependency down). */
export function answeredUnavailable(span: Span): boolean {
  const code = httpStatus(span);
  return code !== undefined ? code === HTTP_UNAVAILABLE : grpcStatus(span) === GRPC_UNAVAILABLE;
}

/** `rpc.grpc.status_code` as a number (one written as a string read as one: NaN when it is none). */
function grpcStatus(span: Span): number | undefined {
  const grpc = span.attributes?.['rpc.grpc.status_code'];
  const g = typeof grpc === 'string' ? Number(grpc) : grpc;
  return typeof g === 'number' ? g : undefined;
}

/** Whether a failed client span looks like the caller gave up waiting (gRPC's DEADLINE_EXCEEDED says so by its code). */
export function looksLikeTimeout(span: Span): boolean {
  const a = span.attributes;
  const type = a ? a['error.type'] ?? a['exception.type'] : undefined;
  return (
    grpcStatus(span) === GRPC_DEADLINE_EXCEEDED ||
    (typeof type === 'string' && TIMEOUT_TEXT.test(type)) ||
    (span.statusMessage !== undefined && TIMEOUT_TEXT.test(span.statusMessage)) ||
    (a !== undefined && typeof a['exception.message'] === 'string' && TIMEOUT_TEXT.test(a['exception.message']))
  );
}

/**
 * Interned operation names and keys: every request of an operation gets the same strings, so the
 * analyzer's maps hash each string once, and no name or key is concatenated per span. Bounded: past
 * `max` cached strings it builds them per call, as without the cache.
 */
export class OperationNames {
  /** method → route → `METHOD folded-route`. */
  private readonly routes = new Map<string, Map<string, string>>();
  /** service → operation → key. */
  private readonly keys = new Map<string, Map<string, string>>();
  /** Services whose server spans name their routes (a framework's), with those routes: one without a route matched none. */
  private readonly routed = new Map<string, RouteTemplates>();
  /** service → the names of its route-less paths; peer → the names of the paths called on it. */
  private readonly paths = new Map<string, PathNames>();
  private readonly calledPaths = new Map<string, PathNames>();
  /** service → its GraphQL operations' names by type and name ({@link graphql}), how many, and its anonymous documents' names. */
  private readonly graphqlNames = new Map<string, { size: number; byType: Map<string, Map<string, string>>; anonymous: Map<string, string> }>();
  private readonly learned = learnedBudget();
  private size = 0;

  constructor(private readonly max: number) {}

  /**
   * {@link serverOperation}, interned; a service's route-less paths are named by its {@link PathNames}:
   * positions where paths vary fold to `:id`, and at most `MAX_PATH_OPERATIONS` names (later paths share
   * the method's name), so unbounded paths (`/users/alice`) cannot take every service's share of the operations.
   */
  server(span: Span): string {
    const route = servedRoute(span.attributes);
    const method = route !== undefined ? httpMethod(span) : undefined;
    if (route !== undefined && method !== undefined) {
      const name = this.intern(this.routes, method, route, routeOperation);
      let routes = this.routed.get(span.service);
      if (routes === undefined && this.routed.size < this.max) this.routed.set(span.service, (routes = new RouteTemplates()));
      routes?.note(name, method, route);
      return name;
    }
    return this.routeless(span);
  }

  /**
   * {@link server} of a span without a route: apart, as its closure would allocate a context on every call of
   * `server`. In a service whose framework names its routes, a 404 matched none: named by its method alone,
   * as OpenTelemetry names it (a scanner's 281 probes for `/.env` and `/wp-admin/setup-config.php` became 43
   * operations of their own). A server error failed before its router (a load-shedding 503, a session check
   * whose database is down): named by the route its path fits ({@link RouteTemplates}), it counts against
   * the route's baseline rather than opening an operation that learns the outage as its normal.
   */
  private routeless(span: Span): string {
    const routes = this.routed.get(span.service);
    if (routes !== undefined) {
      const status = httpStatus(span);
      const method = httpMethod(span);
      if (method !== undefined && status === 404) return method;
      if (method !== undefined && (status === undefined ? span.status === 'error' : status >= 500)) {
        const path = requestPath(span);
        const route = path === undefined ? undefined : routes.match(method, path);
        if (route !== undefined) return this.intern(this.routes, method, route, routeOperation);
      }
    }
    return serverOperation(span, (operation) => this.pathName(this.paths, span.service, operation));
  }

  /**
   * The path a call to `peer` called ({@link calledPath}), by which the peer table learns which operation of
   * an instrumented service calls reach, named by the peer's {@link PathNames}; undefined when it names none,
   * or past `MAX_PATH_OPERATIONS` names of the peer: such calls go by their {@link clientOperation}. It also
   * names an uninstrumented peer's operations (in-process, every callee is seen so); incidents weigh the
   * evidence against all of one peer's paths together.
   */
  callPath(span: Span, peer: string): string | undefined {
    const path = calledPath(span);
    return path === undefined ? undefined : this.pathName(this.calledPaths, peer, path);
  }

  /**
   * The name of a call to `peer`: its {@link callPath}, else its {@link clientOperation}. The peer table keys
   * the operation calls reach by it, and an unanswered call's virtual callee is named by it.
   */
  callName(span: Span, peer: string): string {
    return this.callPath(span, peer) ?? clientOperation(span);
  }

  /** The name `owner` (a service, or a peer) gives path operation `operation` ({@link PathNames}), if any. */
  private pathName(paths: Map<string, PathNames>, owner: string, operation: string): string | undefined {
    let names = paths.get(owner);
    if (names === undefined) {
      if (paths.size >= this.max) return undefined;
      paths.set(owner, (names = new PathNames(this.learned)));
    }
    return names.name(operation);
  }

  /**
   * The operation of a GraphQL request whose execution span is `operation` (OpenTelemetry's `graphql.*`
   * conventions): `query GetProduct`, an anonymous one by its selections (`query { book { title } }`);
   * undefined for an anonymous operation without its document, or past
   * {@link MAX_GRAPHQL_OPERATIONS} names of the service (the request keeps its HTTP name).
   */
  graphql(service: string, operation: Span): string | undefined {
    const a = operation.attributes;
    const type = a ? str(a['graphql.operation.type']) : undefined;
    let name = a ? str(a['graphql.operation.name']) : undefined;
    const source = name === undefined && a ? str(a['graphql.source']) : undefined;
    if (type === undefined || (name === undefined && source === undefined)) return undefined;
    let names = this.graphqlNames.get(service);
    if (names === undefined) {
      if (this.graphqlNames.size >= this.max) return undefined;
      this.graphqlNames.set(service, (names = { size: 0, byType: new Map(), anonymous: new Map() }));
    }
    if (name === undefined) {
      // Anonymous: named by its selections (see anonymousSelections), each document read once while there is room.
      name = names.anonymous.get(source as string) ?? anonymousSelections(source as string);
      if (name === undefined) return undefined;
      if (names.anonymous.size < MAX_GRAPHQL_DOCUMENTS) names.anonymous.set(source as string, name);
    }
    let byName = names.byType.get(type);
    const known = byName?.get(name);
    if (known !== undefined || names.size >= MAX_GRAPHQL_OPERATIONS) return known;
    if (byName === undefined) names.byType.set(type, (byName = new Map()));
    const named = cut(`${type} ${name}`);
    byName.set(name, named);
    names.size++;
    return named;
  }

  /** {@link opKey}, interned. */
  key(service: string, operation: string): string {
    return this.intern(this.keys, service, operation, opKey);
  }

  /** `build(outer, inner)`, cached under outer → inner while there is room. */
  private intern(cache: Map<string, Map<string, string>>, outer: string, inner: string, build: (outer: string, inner: string) => string): string {
    const byInner = cache.get(outer);
    const cached = byInner?.get(inner);
    if (cached !== undefined) return cached;
    const value = build(outer, inner);
    if (this.size < this.max) {
      if (byInner === undefined) cache.set(outer, new Map([[inner, value]]));
      else byInner.set(inner, value);
      this.size++;
    }
    return value;
  }
}
