"use strict";
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __export = (target, all) => {
  for (var name in all)
    __defProp(target, name, { get: all[name], enumerable: true });
};
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod);

// src/index.ts
var index_exports = {};
__export(index_exports, {
  DEFAULT_CALLBACK_QUEUE_SIZE: () => DEFAULT_CALLBACK_QUEUE_SIZE,
  DEFAULT_CLOCK_LAG_MS: () => DEFAULT_CLOCK_LAG_MS,
  DEFAULT_CLOSE_TIMEOUT_MS: () => DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_QUEUE_SIZE: () => DEFAULT_QUEUE_SIZE,
  DEFAULT_TICK_MS: () => DEFAULT_TICK_MS,
  RootspanSpanExporter: () => RootspanSpanExporter,
  RootspanSpanProcessor: () => RootspanSpanProcessor,
  consoleIncidentLogger: () => consoleIncidentLogger,
  incidentLogFields: () => incidentLogFields,
  rootspan: () => rootspan,
  toEngineSpan: () => toEngineSpan
});
module.exports = __toCommonJS(index_exports);

// src/map.ts
var import_api = require("@opentelemetry/api");
var import_core = require("@opentelemetry/core");
var import_engine = require("@rootspan/engine");

// src/peers.ts
var BRACKETED = /^\[([^\]]+)\](?::(\d+))?$/;
function normalizeKey(key) {
  const m = BRACKETED.exec(key);
  if (m === null) return key;
  return m[2] === void 0 ? m[1] : `${m[1]}:${m[2]}`;
}
function peerNames(option) {
  if (option === void 0) return void 0;
  if (typeof option !== "object" || option === null) {
    throw new TypeError("rootspan: option peers must be an object or a Map of address (or host:port) \u2192 service name");
  }
  const entries = option instanceof Map ? [...option.entries()] : Object.entries(option);
  const table = /* @__PURE__ */ new Map();
  for (const [key, name] of entries) {
    if (typeof key !== "string" || key.trim() === "" || /\s/.test(key)) {
      throw new TypeError(`rootspan: option peers has a bad address ${JSON.stringify(key)} (want an address or host:port)`);
    }
    if (typeof name !== "string" || name.trim() === "") {
      throw new TypeError(`rootspan: option peers[${JSON.stringify(key)}] must be a non-empty service name, got ${JSON.stringify(name)}`);
    }
    table.set(normalizeKey(key), name);
  }
  return table.size > 0 ? table : void 0;
}
function namePeer(peers, attributes) {
  const address = attributes["server.address"] ?? attributes["net.peer.name"];
  if (typeof address !== "string" || address === "") return void 0;
  const port = attributes["server.port"] ?? attributes["net.peer.port"];
  return (port !== void 0 ? peers.get(`${address}:${port}`) : void 0) ?? peers.get(address);
}

// src/map.ts
var KINDS = {
  [import_api.SpanKind.INTERNAL]: "internal",
  [import_api.SpanKind.SERVER]: "server",
  [import_api.SpanKind.CLIENT]: "client",
  [import_api.SpanKind.PRODUCER]: "producer",
  [import_api.SpanKind.CONSUMER]: "consumer"
};
var INVALID_TRACE_ID = "00000000000000000000000000000000";
var INVALID_SPAN_ID = "0000000000000000";
var EXCEPTION_TYPE = "exception.type";
var EXCEPTION_MESSAGE = "exception.message";
var PEER_SERVICE = "peer.service";
var identities = /* @__PURE__ */ new WeakMap();
var lastResource;
var lastIdentity;
var settling = /* @__PURE__ */ new WeakSet();
var UNKNOWN_SERVICE = "unknown_service";
function identityOf(resource) {
  if (resource === void 0 || resource === null) return { service: UNKNOWN_SERVICE, version: void 0 };
  if (resource === lastResource) return lastIdentity;
  const cached = identities.get(resource);
  if (cached !== void 0) {
    lastResource = resource;
    lastIdentity = cached;
    return cached;
  }
  let name;
  let version;
  const pending = resource.asyncAttributesPending === true;
  if (pending) {
    if (!settling.has(resource) && typeof resource.waitForAsyncAttributes === "function") {
      settling.add(resource);
      resource.waitForAsyncAttributes().then(void 0, () => {
      });
    }
    for (const [k, v] of resource.getRawAttributes()) {
      if (k === "service.name") name ??= settled(v);
      else if (k === "service.version") version ??= settled(v);
    }
  } else {
    const attrs = resource.attributes ?? {};
    name = attrs["service.name"];
    version = attrs["service.version"];
  }
  const id = {
    service: typeof name === "string" && name.length > 0 ? name : UNKNOWN_SERVICE,
    version: typeof version === "string" && version.length > 0 ? version : void 0
  };
  if (!pending) {
    identities.set(resource, id);
    lastResource = resource;
    lastIdentity = id;
  }
  return id;
}
function settled(v) {
  if (v === null || v === void 0) return void 0;
  if (typeof v === "object" && typeof v.then === "function") return void 0;
  return v;
}
function isScalar(v) {
  const t = typeof v;
  return t === "string" || t === "boolean" || t === "number" && Number.isFinite(v);
}
function analyzedAttributes(source) {
  const out = {};
  if (source === void 0 || source === null) return out;
  for (const key in source) {
    if (!import_engine.ANALYZED_ATTRIBUTE_KEYS.has(key)) continue;
    const v = source[key];
    if (v !== void 0 && isScalar(v)) out[key] = v;
  }
  return out;
}
function toEngineSpan(span, peers) {
  const ctx = span.spanContext();
  const traceId = ctx?.traceId;
  const spanId = ctx?.spanId;
  return hasValidIds(traceId, spanId) ? mapSpan(span, traceId, spanId, peers) : void 0;
}
function hasValidIds(traceId, spanId) {
  return !!traceId && !!spanId && traceId !== INVALID_TRACE_ID && spanId !== INVALID_SPAN_ID;
}
function mapSpan(span, traceId, spanId, peers) {
  const identity = identityOf(span.resource);
  const attributes = analyzedAttributes(span.attributes);
  const events = span.events;
  if (events !== void 0 && events.length > 0) addException(events, attributes);
  if (peers !== void 0 && (span.kind === import_api.SpanKind.CLIENT || span.kind === import_api.SpanKind.PRODUCER) && attributes[PEER_SERVICE] === void 0) {
    const peer = namePeer(peers, attributes);
    if (peer !== void 0) attributes[PEER_SERVICE] = peer;
  }
  const status = span.status;
  const code = status?.code;
  const parent = span.parentSpanContext?.spanId;
  return {
    traceId,
    spanId,
    parentSpanId: parent && parent !== INVALID_SPAN_ID ? parent : void 0,
    service: identity.service,
    serviceVersion: identity.version,
    name: span.name,
    kind: KINDS[span.kind],
    startTime: (0, import_core.hrTimeToMilliseconds)(span.startTime),
    endTime: (0, import_core.hrTimeToMilliseconds)(span.endTime),
    status: code === import_api.SpanStatusCode.ERROR ? "error" : code === import_api.SpanStatusCode.OK ? "ok" : "unset",
    statusMessage: status?.message ? status.message : void 0,
    attributes
  };
}
function addException(events, attributes) {
  if (attributes[EXCEPTION_TYPE] !== void 0 || attributes[EXCEPTION_MESSAGE] !== void 0) return;
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.name !== "exception") continue;
    const type = e.attributes?.[EXCEPTION_TYPE];
    const message = e.attributes?.[EXCEPTION_MESSAGE];
    if (isScalar(type)) attributes[EXCEPTION_TYPE] = type;
    if (isScalar(message)) attributes[EXCEPTION_MESSAGE] = message;
    return;
  }
}

// src/queue.ts
var import_api2 = require("@opentelemetry/api");
function checkCapacity(capacity) {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new TypeError(`rootspan: queue capacity must be a positive integer, got ${String(capacity)}`);
  }
}
var BoundedQueue = class {
  constructor(capacity) {
    this.capacity = capacity;
    checkCapacity(capacity);
    this.items = new Array(capacity);
  }
  items;
  head = 0;
  size = 0;
  /** Items waiting. */
  get length() {
    return this.size;
  }
  /** Appends an item; returns false (and keeps nothing) when the queue is full. */
  push(item) {
    if (this.size === this.capacity) return false;
    let tail = this.head + this.size;
    if (tail >= this.capacity) tail -= this.capacity;
    this.items[tail] = item;
    this.size++;
    return true;
  }
  /** Removes and returns up to `max` items from the front, oldest first. */
  take(max) {
    const n = Math.min(max, this.size);
    const out = new Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.items[this.head];
      this.items[this.head] = void 0;
      this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    }
    this.size -= n;
    return out;
  }
  /** Drops everything waiting. */
  clear() {
    this.items.fill(void 0);
    this.head = 0;
    this.size = 0;
  }
};
var DropCounter = class {
  constructor(started, ended) {
    this.started = started;
    this.ended = ended;
  }
  /** Items dropped since start. */
  total = 0;
  /** Drops since the queue last had room: non-zero while an episode is in progress. */
  episode = 0;
  /** Records one dropped item. */
  drop() {
    this.total++;
    if (this.episode++ === 0) import_api2.diag.warn(this.started());
  }
  /** Records that an item was accepted again, closing the episode if one was in progress. */
  accepted() {
    if (this.episode === 0) return;
    import_api2.diag.warn(this.ended(this.episode));
    this.episode = 0;
  }
};

// src/ended.ts
var EndedSpans = class {
  constructor(capacity, peers, pruner) {
    this.capacity = capacity;
    this.peers = peers;
    this.pruner = pruner;
    checkCapacity(capacity);
    this.spans = new Array(capacity).fill(null);
  }
  spans;
  head = 0;
  size = 0;
  /** Spans waiting. */
  get length() {
    return this.size;
  }
  /**
   * Prunes or converts and keeps an ended span; false when it had to be kept and the ring is full (nothing
   * kept). A span without valid ids names nothing to analyse: it is accepted and forgotten.
   */
  push(span) {
    const ctx = span.spanContext();
    const traceId = ctx?.traceId;
    const spanId = ctx?.spanId;
    if (!hasValidIds(traceId, spanId)) return true;
    const parentCtx = span.parentSpanContext;
    if (this.pruner.prune(span, traceId, spanId)) return true;
    if (this.size === this.capacity) return false;
    const mapped = mapSpan(span, traceId, spanId, this.peers);
    this.pruner.keep(mapped, parentCtx?.isRemote);
    let i = this.head + this.size;
    if (i >= this.capacity) i -= this.capacity;
    this.spans[i] = mapped;
    this.size++;
    return true;
  }
  /** Up to `max` waiting spans, oldest first, forgotten here. */
  take(max) {
    const n = Math.min(max, this.size);
    const out = new Array(n);
    for (let k = 0; k < n; k++) {
      const i = this.head;
      out[k] = this.spans[i];
      this.spans[i] = null;
      this.head = i + 1 === this.capacity ? 0 : i + 1;
    }
    this.size -= n;
    return out;
  }
  /** Forgets everything waiting. */
  clear() {
    this.spans.fill(null);
    this.head = 0;
    this.size = 0;
  }
};

// src/feed.ts
var import_api3 = require("@opentelemetry/api");
var import_core2 = require("@opentelemetry/core");
var import_engine2 = require("@rootspan/engine");

// src/dispatch.ts
var CallbackDispatcher = class {
  constructor(capacity, run, label) {
    this.run = run;
    this.queue = new BoundedQueue(capacity);
    this.drops = new DropCounter(
      () => `rootspan ${label}: callback queue full (callbackQueueSize ${capacity}), dropping callback calls until your callbacks catch up`,
      (n) => `rootspan ${label}: dropped ${n} callback calls because the callback queue (callbackQueueSize ${capacity}) was full`
    );
  }
  drops;
  queue;
  scheduled = false;
  waiters = [];
  step = () => this.runOne();
  /** Calls waiting to run. */
  get pending() {
    return this.queue.length;
  }
  /** Queues a call; O(1), never runs user code. A full queue drops the call and counts it. */
  enqueue(call) {
    if (!this.queue.push(call)) {
      this.drops.drop();
      return;
    }
    this.drops.accepted();
    this.schedule();
  }
  /** Resolves once every call queued so far (and any queued meanwhile) has run. Never rejects. */
  idle() {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.step);
  }
  runOne() {
    this.scheduled = false;
    const [call] = this.queue.take(1);
    if (call !== void 0) this.run(call);
    if (this.queue.length > 0) {
      this.schedule();
    } else {
      for (const resolve of this.waiters.splice(0)) resolve();
    }
  }
};

// src/feed.ts
var ROOTSPAN_CONTEXT = (0, import_core2.suppressTracing)(import_api3.ROOT_CONTEXT);
var AnalyzerFeed = class {
  constructor(own, analyzerOptions, label) {
    this.label = label;
    this.analyzer = own.analyzer ?? (0, import_engine2.createAnalyzer)(analyzerOptions);
    this.callbacks = new CallbackDispatcher(own.callbackQueueSize, (call) => this.runCallback(call), label);
    this.closeTimeoutMs = own.closeTimeoutMs;
    this.persistence = own.store?.attach(this.analyzer, { wrap: (fn) => import_api3.context.with(ROOTSPAN_CONTEXT, fn) });
    if (own.onIncident) this.subscribe("onIncident", own.onIncident);
    if (own.onAnomaly) this.subscribe("onAnomaly", own.onAnomaly);
  }
  analyzer;
  counters = { ingested: 0, callbackErrors: 0, internalErrors: 0, storeErrors: 0 };
  callbacks;
  closeTimeoutMs;
  timer;
  unsubscribe = [];
  persistence;
  /** The analyzer's listener only queues the call: the callback itself runs later, one per turn. */
  subscribe(name, cb) {
    const queue = (arg) => this.callbacks.enqueue({ name, cb, arg });
    const off = name === "onIncident" ? this.analyzer.onIncident(queue) : this.analyzer.onAnomaly(queue);
    if (typeof off === "function") this.unsubscribe.push(off);
  }
  /**
   * Runs a user callback in rootspan's own context, with tracing suppressed (so an HTTP call it makes does
   * not create spans that come back here). Both a synchronous throw and a rejected promise are counted,
   * never propagated: an async callback's rejection would otherwise be unhandled and could crash the host.
   * Its promise is not awaited: a callback that never settles holds up nothing.
   */
  runCallback({ name, cb, arg }) {
    try {
      const result = import_api3.context.with(ROOTSPAN_CONTEXT, cb, void 0, arg);
      if (result !== null && typeof result === "object" && typeof result.then === "function") {
        result.then(void 0, (err) => this.callbackError(name, err));
      }
    } catch (err) {
      this.callbackError(name, err);
    }
  }
  /** Resolves once every queued callback call has run (their promises are not awaited). Never rejects. */
  callbacksIdle() {
    return this.callbacks.idle();
  }
  /** The feed's counters for `stats()`. */
  stats() {
    return { ...this.counters, callbacksQueued: this.callbacks.pending, callbacksDropped: this.callbacks.drops.total };
  }
  callbackError(name, err) {
    this.counters.callbackErrors++;
    if (this.counters.callbackErrors === 1) {
      import_api3.diag.error(`rootspan ${this.label}: ${name} callback failed (further failures are only counted in stats().callbackErrors)`, err);
    }
  }
  /** Records an unexpected exception from rootspan or the analyzer; never throws. */
  internalError(where, err) {
    this.counters.internalErrors++;
    if (this.counters.internalErrors === 1) {
      import_api3.diag.error(`rootspan ${this.label}: internal error in ${where} (further ones are only counted in stats().internalErrors)`, err);
    }
  }
  /** Hands spans to the analyzer in rootspan's own (suppressed) context. Never throws. */
  ingest(spans) {
    if (spans.length === 0) return;
    this.counters.ingested += spans.length;
    try {
      import_api3.context.with(ROOTSPAN_CONTEXT, () => this.analyzer.ingest(spans));
    } catch (err) {
      this.internalError("ingest", err);
    }
  }
  /** Moves the analyzer's event time to `t`. Never throws. */
  advanceTo(t) {
    try {
      import_api3.context.with(ROOTSPAN_CONTEXT, () => this.analyzer.advanceTo(t));
    } catch (err) {
      this.internalError("advanceTo", err);
    }
  }
  /** End of input: lets the analyzer process what it buffered and close its windows. Never throws. */
  flush() {
    try {
      import_api3.context.with(ROOTSPAN_CONTEXT, () => this.analyzer.flush());
    } catch (err) {
      this.internalError("flush", err);
    }
  }
  /** Starts the live clock once; later calls are no-ops. */
  startClock(tickMs, tick) {
    if (this.timer !== void 0) return;
    this.timer = setInterval(() => {
      try {
        tick();
      } catch (err) {
        this.internalError("clock tick", err);
      }
    }, tickMs);
    this.timer.unref?.();
  }
  stopClock() {
    if (this.timer !== void 0) clearInterval(this.timer);
    this.timer = void 0;
  }
  /** Whether the live clock is running. */
  get clockRunning() {
    return this.timer !== void 0;
  }
  /**
   * Writes what the store has pending and closes it. Never rejects, and resolves after `closeTimeoutMs` at
   * the latest: a store whose final write hangs must not hang the host's shutdown (and exit) with it.
   */
  async closeStore() {
    if (this.persistence === void 0) return;
    let timer;
    const timedOut = new Promise((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.closeTimeoutMs);
      timer.unref?.();
    });
    try {
      const closing = Promise.resolve().then(() => this.persistence?.close());
      if (await Promise.race([closing, timedOut]) === "timeout") {
        this.storeError(new Error(`the store did not close within closeTimeoutMs (${this.closeTimeoutMs} ms); its last writes may be lost`));
      }
    } catch (err) {
      this.storeError(err);
    } finally {
      clearTimeout(timer);
    }
  }
  storeError(err) {
    this.counters.storeErrors++;
    import_api3.diag.error(`rootspan ${this.label}: closing the store failed`, err);
  }
  /** Stops delivering events to the user's callbacks. */
  detach() {
    for (const off of this.unsubscribe.splice(0)) {
      try {
        off();
      } catch (err) {
        this.internalError("unsubscribe", err);
      }
    }
  }
};

// src/inflight.ts
var import_api4 = require("@opentelemetry/api");
var import_core3 = require("@opentelemetry/core");
var import_engine3 = require("@rootspan/engine");

// src/hash.ts
function hashId(id) {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return h | 0;
}

// src/inflight.ts
var MAX_OPEN_MS = 10 * 6e4;
var INITIAL_SLOTS = 64;
var InFlightTable = class {
  constructor(capacity) {
    this.capacity = capacity;
  }
  ids = new Array(INITIAL_SLOTS).fill(void 0);
  spans = new Array(INITIAL_SLOTS).fill(void 0);
  /** The call's local parent span, when it is a live span of this process (else null). */
  parents = new Array(INITIAL_SLOTS).fill(null);
  hashes = new Int32Array(INITIAL_SLOTS);
  mask = INITIAL_SLOTS - 1;
  count = 0;
  dropped = 0;
  reported = 0;
  expired = 0;
  /** From `onStart`: tracks the span if it is a call (returns whether it is one, tracked or counted as dropped). */
  add(span, parentContext) {
    const kind = span.kind;
    if (kind !== import_api4.SpanKind.CLIENT && kind !== import_api4.SpanKind.PRODUCER && !(kind === import_api4.SpanKind.INTERNAL && namesDatabase(span))) return false;
    if (this.count >= this.capacity) {
      this.dropped++;
      return true;
    }
    const id = span.spanContext().spanId;
    if (2 * (this.count + 1) > this.ids.length) this.grow();
    const parent = import_api4.trace.getSpan(parentContext);
    this.put(id, hashId(id), span, parent !== void 0 && typeof parent.ended === "boolean" ? parent : null);
    this.count++;
    return true;
  }
  put(id, h, span, parent) {
    let i = h & this.mask;
    while (this.ids[i] !== void 0) i = i + 1 & this.mask;
    this.ids[i] = id;
    this.hashes[i] = h;
    this.spans[i] = span;
    this.parents[i] = parent;
  }
  /** Doubles the slots (rehashing what is open); allocates only when more calls are open at once than ever. */
  grow() {
    const { ids, spans, parents, hashes } = this;
    const size = ids.length * 2;
    this.ids = new Array(size).fill(void 0);
    this.spans = new Array(size).fill(void 0);
    this.parents = new Array(size).fill(null);
    this.hashes = new Int32Array(size);
    this.mask = size - 1;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id !== void 0) this.put(id, hashes[i], spans[i], parents[i]);
    }
  }
  /** From `onEnd`: the call answered (or failed). An empty table costs one comparison, a miss one probe. */
  release(span) {
    if (this.count === 0) return false;
    const id = span.spanContext?.()?.spanId;
    if (id === void 0) return false;
    const mask = this.mask;
    let i = hashId(id) & mask;
    for (; ; ) {
      const at = this.ids[i];
      if (at === void 0) return false;
      if (at === id && this.spans[i] === span) break;
      i = i + 1 & mask;
    }
    this.count--;
    for (let j = i + 1 & mask; ; j = j + 1 & mask) {
      const moving = this.ids[j];
      if (moving === void 0) break;
      const home = this.hashes[j] & mask;
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      this.ids[i] = moving;
      this.hashes[i] = this.hashes[j];
      this.spans[i] = this.spans[j];
      this.parents[i] = this.parents[j];
      i = j;
    }
    this.ids[i] = void 0;
    this.spans[i] = void 0;
    this.parents[i] = null;
    return true;
  }
  /**
   * The calls open since before `now - IN_FLIGHT_MIN_MS` (epoch ms), as the analyzer takes them: the span
   * as it stands, ending now, and when its parent ended if it has. A walk over the slots (a few thousand
   * at most) once per tick; only late calls are converted.
   */
  report(now, peers) {
    const out = [];
    const before = now - import_engine3.IN_FLIGHT_MIN_MS;
    let expired;
    for (let i = 0; i < this.spans.length; i++) {
      const span = this.spans[i];
      if (span === void 0) continue;
      const start = (0, import_core3.hrTimeToMilliseconds)(span.startTime);
      if (start > before) continue;
      if (now - start > MAX_OPEN_MS) {
        (expired ??= []).push(span);
        continue;
      }
      const mapped = toEngineSpan(span, peers);
      if (mapped === void 0) continue;
      mapped.endTime = now;
      const call = { span: mapped };
      const parent = this.parents[i];
      if (parent !== null && parent.ended === true) call.parentEndedAt = Math.min(now, (0, import_core3.hrTimeToMilliseconds)(parent.endTime));
      out.push(call);
    }
    if (expired !== void 0) {
      for (const span of expired) if (this.release(span)) this.expired++;
    }
    this.reported = out.length;
    return out;
  }
  /** Forgets every call (shutdown: calls cut by the exit are no evidence). */
  clear() {
    this.ids.fill(void 0);
    this.spans.fill(void 0);
    this.parents.fill(null);
    this.count = 0;
    this.reported = 0;
  }
  stats() {
    return { open: this.count, dropped: this.dropped, reported: this.reported, expired: this.expired };
  }
};
function namesDatabase(span) {
  const a = span.attributes;
  return a !== void 0 && (a["db.system"] !== void 0 || a["db.system.name"] !== void 0);
}

// src/options.ts
var DEFAULT_QUEUE_SIZE = 4096;
var DEFAULT_IN_FLIGHT_SIZE = 4096;
var DEFAULT_TICK_MS = 1e3;
var DEFAULT_CLOCK_LAG_MS = 6e3;
var DEFAULT_CALLBACK_QUEUE_SIZE = 1024;
var DEFAULT_CLOSE_TIMEOUT_MS = 5e3;
var DEFAULT_COLD_START_MS = 1e4;
var SHARED_KEYS = ["onIncident", "onAnomaly", "analyzer", "tickMs", "store", "peers", "callbackQueueSize", "closeTimeoutMs", "coldStartMs"];
var PROCESSOR_KEYS = [...SHARED_KEYS, "queueSize", "inFlightSize"];
var EXPORTER_KEYS = [...SHARED_KEYS, "clockLagMs"];
var OWN_KEYS = [...PROCESSOR_KEYS, "clockLagMs"];
var ANALYZER_METHODS = ["ingest", "advanceTo", "flush", "onAnomaly", "onIncident", "stats"];
function fail(message) {
  throw new TypeError(`rootspan: ${message}`);
}
function positiveNumber(name, v, fallback) {
  if (v === void 0) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    fail(`option ${name} must be a positive finite number (ms), got ${JSON.stringify(v)}`);
  }
  return v;
}
function positiveInteger(name, v, fallback) {
  if (v === void 0) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) fail(`option ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}
function splitOptions(options = {}, allowed) {
  if (typeof options !== "object" || options === null) fail("options must be an object");
  const analyzerOptions = {};
  for (const key of Object.keys(options)) {
    if (OWN_KEYS.includes(key)) {
      if (!allowed.includes(key) && options[key] !== void 0) {
        fail(`option ${key} does not apply here`);
      }
    } else {
      analyzerOptions[key] = options[key];
    }
  }
  for (const name of ["onIncident", "onAnomaly"]) {
    const cb = options[name];
    if (cb !== void 0 && typeof cb !== "function") fail(`option ${name} must be a function`);
  }
  const analyzer = options.analyzer;
  if (analyzer !== void 0) {
    if (typeof analyzer !== "object" || analyzer === null) fail("option analyzer must be an Analyzer (createAnalyzer())");
    for (const m of ANALYZER_METHODS) {
      if (typeof analyzer[m] !== "function") {
        fail(`option analyzer must be an Analyzer (createAnalyzer()): it has no ${m}() method`);
      }
    }
    const extra = Object.keys(analyzerOptions).filter((k) => analyzerOptions[k] !== void 0);
    if (extra.length > 0) {
      fail(`analyzer options (${extra.join(", ")}) cannot be combined with option analyzer; pass them to createAnalyzer()`);
    }
  }
  const coldStartMs = options.coldStartMs === 0 ? 0 : positiveNumber("coldStartMs", options.coldStartMs, DEFAULT_COLD_START_MS);
  if (options.coldStartMs !== void 0 && (analyzer !== void 0 || options.coldStartUntil !== void 0)) {
    fail(`option coldStartMs cannot be combined with option ${analyzer !== void 0 ? "analyzer" : "coldStartUntil"}`);
  }
  if (analyzer === void 0 && coldStartMs > 0 && options.coldStartUntil === void 0) analyzerOptions.coldStartUntil = Date.now() + coldStartMs;
  if (options.store !== void 0 && typeof options.store?.attach !== "function") {
    fail("option store must be a store such as sqliteStore({ path }) from @rootspan/sqlite");
  }
  const own = {
    onIncident: options.onIncident,
    onAnomaly: options.onAnomaly,
    analyzer,
    tickMs: positiveNumber("tickMs", options.tickMs, DEFAULT_TICK_MS),
    queueSize: positiveInteger("queueSize", options.queueSize, DEFAULT_QUEUE_SIZE),
    inFlightSize: positiveInteger("inFlightSize", options.inFlightSize, DEFAULT_IN_FLIGHT_SIZE),
    clockLagMs: options.clockLagMs === 0 ? 0 : positiveNumber("clockLagMs", options.clockLagMs, DEFAULT_CLOCK_LAG_MS),
    store: options.store,
    peers: peerNames(options.peers),
    callbackQueueSize: positiveInteger("callbackQueueSize", options.callbackQueueSize, DEFAULT_CALLBACK_QUEUE_SIZE),
    closeTimeoutMs: positiveNumber("closeTimeoutMs", options.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS)
  };
  return { own, analyzerOptions };
}

// src/prune.ts
var import_api5 = require("@opentelemetry/api");
var IDS_PER_GENERATION = 16384;
var MAX_HOPS = 64;
var SLOTS = 2 * IDS_PER_GENERATION;
var Generation = class {
  /** Entry index + 1 by slot; 0 is an empty slot. */
  slots = new Uint16Array(SLOTS);
  ids = [];
  traces = [];
  values = [];
  size = 0;
  /** The entry of `id` (hash `h`), or -1 - the empty slot where it would go. */
  find(id, h) {
    for (let s = h & SLOTS - 1; ; s = s + 1 & SLOTS - 1) {
      const k = this.slots[s];
      if (k === 0) return -1 - s;
      if (this.ids[k - 1] === id) return k - 1;
    }
  }
  get(traceId, id, h) {
    const i = this.find(id, h);
    return i >= 0 && this.traces[i] === traceId ? this.values[i] : void 0;
  }
  /** Notes `value` for `id` in `traceId` (the same id of another trace is forgotten here). */
  set(traceId, id, value, h) {
    let i = this.find(id, h);
    if (i < 0) {
      this.slots[-1 - i] = this.size + 1;
      i = this.size++;
      this.ids[i] = id;
    }
    this.traces[i] = traceId;
    this.values[i] = value;
  }
  /** Forgets every id; the entries are overwritten as new ids come. */
  clear() {
    this.slots.fill(0);
    this.size = 0;
  }
};
var IdGenerations = class {
  current = new Generation();
  previous = new Generation();
  get(traceId, id) {
    if (this.current.size === 0 && this.previous.size === 0) return void 0;
    const h = hashId(id);
    const v = this.current.get(traceId, id, h);
    return v !== void 0 ? v : this.previous.get(traceId, id, h);
  }
  set(traceId, id, value) {
    if (this.current.size >= IDS_PER_GENERATION) {
      const oldest = this.previous;
      oldest.clear();
      this.previous = this.current;
      this.current = oldest;
    }
    this.current.set(traceId, id, value, hashId(id));
  }
};
function prunable(span) {
  if (span.kind !== import_api5.SpanKind.INTERNAL) return false;
  if (!span.parentSpanContext?.spanId || span.status?.code === import_api5.SpanStatusCode.ERROR) return false;
  const a = span.attributes;
  return a === void 0 || a["http.response.status_code"] === void 0 && a["http.status_code"] === void 0;
}
var InternalSpanPruner = class {
  /** Spans pruned since start. */
  pruned = 0;
  /** Pruned span id → its parent's id. */
  prunedIds = new IdGenerations();
  /** Ids kept spans name as their (local) parent: such a span is never pruned. */
  awaited = new IdGenerations();
  /**
   * Whether to leave `span` out: {@link prunable}, and no span kept so far names it as its parent. Call for
   * every span, in the order they end.
   */
  prune(span, traceId, spanId) {
    if (!prunable(span) || this.awaited.get(traceId, spanId) !== void 0) return false;
    this.prunedIds.set(traceId, spanId, span.parentSpanContext.spanId);
    this.pruned++;
    return true;
  }
  /** For a kept span: re-parents it past pruned spans and notes that its parent must be kept. */
  keep(mapped, parentIsRemote) {
    let parent = mapped.parentSpanId;
    if (parent === void 0 || parentIsRemote === true) return;
    const traceId = mapped.traceId;
    for (let hops = 0, up = this.prunedIds.get(traceId, parent); up !== void 0 && hops < MAX_HOPS; hops++, up = this.prunedIds.get(traceId, parent)) parent = up;
    mapped.parentSpanId = parent;
    if (this.awaited.get(traceId, parent) === void 0) this.awaited.set(traceId, parent, true);
  }
};

// src/processor.ts
var DRAIN_CHUNK = 256;
var DRAIN_AT = 64;
var DRAIN_BUDGET_MS = 1;
var LOOP_BLOCKED_MS = 250;
var RootspanSpanProcessor = class {
  /** The analyzer spans are fed into (query it for incidents, metrics, the service graph). */
  analyzer;
  feed;
  queue;
  tickMs;
  peers;
  drops;
  pruner = new InternalSpanPruner();
  inflight;
  /** Wall time of the last tick (NaN before the first). */
  lastTickAt = NaN;
  /** A drain is queued for the next turn (`setImmediate`). */
  drainSoon = false;
  /** A clock tick arrived while spans were still queued: advance once they are in. */
  advanceDue = false;
  /** Set when shutdown starts: from then on spans are ignored and the clock is never restarted. */
  closed = false;
  shutdownPromise;
  drainStep = () => this.drain("scheduled");
  /** @throws TypeError naming the bad option (the only time rootspan throws). */
  constructor(options = {}) {
    const { own, analyzerOptions } = splitOptions(options, PROCESSOR_KEYS);
    this.feed = new AnalyzerFeed(own, analyzerOptions, "span processor");
    this.analyzer = this.feed.analyzer;
    this.queue = new EndedSpans(own.queueSize, own.peers, this.pruner);
    this.drops = new DropCounter(
      () => `rootspan: span queue full (queueSize ${own.queueSize}), dropping spans until it drains`,
      (n) => `rootspan: dropped ${n} spans because the span queue (queueSize ${own.queueSize}) was full`
    );
    this.tickMs = own.tickMs;
    this.peers = own.peers;
    this.inflight = new InFlightTable(own.inFlightSize);
  }
  /**
   * Notes a call (client, producer, or database span) as in flight until its `onEnd`: O(1), no
   * allocation (a slot of a preallocated table), never throws; other spans cost a kind check. Each tick reports the calls still open to the analyzer, which judges hangs
   * from them before they end.
   */
  onStart(span, parentContext) {
    if (this.closed) return;
    try {
      if (this.inflight.add(span, parentContext) && !this.feed.clockRunning) this.feed.startClock(this.tickMs, () => this.tick());
    } catch (err) {
      this.feed.internalError("onStart", err);
    }
  }
  /**
   * Prunes the ended span or queues its engine span ({@link EndedSpans}): O(1), never throws, never blocks
   * on analysis. Reading the span now, just after the SDK wrote it, costs a fraction of reading it at the
   * drain a second later, when it has left the CPU's caches.
   */
  onEnd(span) {
    if (this.closed) return;
    try {
      this.inflight.release(span);
      if (this.queue.push(span)) this.drops.accepted();
      else this.drops.drop();
      this.scheduleDrain();
      if (!this.feed.clockRunning) this.feed.startClock(this.tickMs, () => this.tick());
    } catch (err) {
      this.feed.internalError("onEnd", err);
    }
  }
  /**
   * Drains on the next turn once a chunk waits (or `soon`: a drain ran out of budget); fewer spans wait
   * for the live clock's next tick, which drains before it advances. No timer of its own: a timer would wake
   * the host's event loop between requests, and on a busy machine each wake-up costs more CPU than the
   * drain it runs (`setImmediate` runs in the same loop iteration as the I/O that ended the span).
   */
  scheduleDrain(soon = false) {
    if (this.drainSoon) return;
    if (soon || this.queue.length >= DRAIN_AT) {
      this.drainSoon = true;
      setImmediate(this.drainStep);
    }
  }
  /**
   * Ingests queued spans in chunks. In the background (`scheduled`, `tick`) it stops after ~1 ms and
   * reschedules itself, so a backlog never blocks the event loop; for flush/shutdown (`all`) it empties
   * the queue before returning.
   */
  drain(mode) {
    if (mode === "scheduled") this.drainSoon = false;
    const all = mode === "all";
    try {
      const start = performance.now();
      while (this.queue.length > 0) {
        this.feed.ingest(this.queue.take(DRAIN_CHUNK));
        if (!all && this.queue.length > 0 && performance.now() - start >= DRAIN_BUDGET_MS) {
          this.scheduleDrain(true);
          return;
        }
      }
      if (this.advanceDue) {
        this.advanceDue = false;
        this.feed.advanceTo(Date.now());
      }
    } catch (err) {
      this.feed.internalError("drain", err);
    }
  }
  /** Live clock: spans that already ended go in first, then event time moves to now. */
  tick() {
    const now = Date.now();
    if (!(now - this.lastTickAt > this.tickMs + LOOP_BLOCKED_MS)) this.reportInFlight(now);
    this.lastTickAt = now;
    this.advanceDue = true;
    this.drain("tick");
  }
  /** Hands the analyzer the calls open at `now` (an analyzer of your own without `inFlight` gets none). */
  reportInFlight(now) {
    if (typeof this.analyzer.inFlight !== "function") return;
    try {
      this.analyzer.inFlight(this.inflight.report(now, this.peers), now);
    } catch (err) {
      this.feed.internalError("inFlight", err);
    }
  }
  /**
   * Ingests every queued span (synchronously, in chunks), then resolves once the callback calls this
   * caused have run (one per event-loop turn; their promises are not awaited). Never rejects.
   */
  forceFlush() {
    this.drain("all");
    return this.feed.callbacksIdle();
  }
  /**
   * Drains the queue, lets the analyzer finish (`analyzer.flush()`, which may still deliver incident
   * events to your callbacks), stops the clock, stops listening for new events, lets the callback calls
   * already queued run, and closes the store (waiting `closeTimeoutMs` at most). Idempotent; never rejects. Spans ending
   * afterwards are ignored.
   */
  shutdown() {
    if (this.shutdownPromise === void 0) {
      this.closed = true;
      try {
        this.feed.stopClock();
        this.drain("all");
        this.advanceDue = false;
        this.inflight.clear();
        this.reportInFlight(Date.now());
        this.feed.flush();
        this.feed.detach();
        this.queue.clear();
      } catch (err) {
        this.feed.internalError("shutdown", err);
      }
      this.shutdownPromise = this.feed.callbacksIdle().then(() => this.feed.closeStore());
    }
    return this.shutdownPromise;
  }
  /** rootspan's own counters plus the analyzer's. */
  stats() {
    return { queued: this.queue.length, dropped: this.drops.total, pruned: this.pruner.pruned, ...this.feed.stats(), inFlight: this.inflight.stats(), analyzer: this.analyzer.stats() };
  }
};

// src/exporter.ts
var import_core4 = require("@opentelemetry/core");
var RootspanSpanExporter = class {
  /** The analyzer spans are fed into. */
  analyzer;
  feed;
  tickMs;
  clockLagMs;
  peers;
  pruner = new InternalSpanPruner();
  closed = false;
  closing = Promise.resolve();
  /** @throws TypeError naming the bad option (the only time rootspan throws). */
  constructor(options = {}) {
    const { own, analyzerOptions } = splitOptions(options, EXPORTER_KEYS);
    this.feed = new AnalyzerFeed(own, analyzerOptions, "span exporter");
    this.analyzer = this.feed.analyzer;
    this.tickMs = own.tickMs;
    this.clockLagMs = own.clockLagMs;
    this.peers = own.peers;
  }
  /** Converts and ingests the batch, then reports SUCCESS (FAILED only after shutdown, per the SDK contract). */
  export(spans, resultCallback) {
    if (this.closed) {
      resultCallback({ code: import_core4.ExportResultCode.FAILED, error: new Error("rootspan: exporter is shut down") });
      return;
    }
    try {
      const mapped = [];
      for (let i = 0; i < spans.length; i++) {
        const span = spans[i];
        const ctx = span.spanContext();
        if (ctx?.traceId && ctx.spanId && this.pruner.prune(span, ctx.traceId, ctx.spanId)) continue;
        const s = toEngineSpan(span, this.peers);
        if (s === void 0) continue;
        this.pruner.keep(s, span.parentSpanContext?.isRemote);
        mapped.push(s);
      }
      this.feed.ingest(mapped);
      if (!this.feed.clockRunning) {
        this.feed.startClock(this.tickMs, () => this.feed.advanceTo(Date.now() - this.clockLagMs));
      }
    } catch (err) {
      this.feed.internalError("export", err);
    }
    resultCallback({ code: import_core4.ExportResultCode.SUCCESS });
  }
  /** Spans are ingested during `export`: resolves once the callback calls they caused have run. */
  forceFlush() {
    return this.feed.callbacksIdle();
  }
  /** Stops the clock, lets the analyzer finish (`analyzer.flush()`), detaches callbacks and closes the store. Idempotent. */
  shutdown() {
    if (!this.closed) {
      this.closed = true;
      this.feed.stopClock();
      this.feed.flush();
      this.feed.detach();
      this.closing = this.feed.callbacksIdle().then(() => this.feed.closeStore());
    }
    return this.closing;
  }
  /** rootspan's own counters plus the analyzer's (`queued` and `dropped` are always 0: there is no queue). */
  stats() {
    return { queued: 0, dropped: 0, pruned: this.pruner.pruned, ...this.feed.stats(), analyzer: this.analyzer.stats() };
  }
};

// src/logger.ts
var LEVEL = {
  low: "info",
  medium: "warn",
  high: "error",
  critical: "error"
};
function incidentLogFields(e) {
  const i = e.incident;
  return {
    event: "rootspan.incident",
    type: e.type,
    id: i.id,
    status: i.status,
    severity: i.severity,
    title: i.title,
    rootCause: {
      service: i.rootCause.service,
      operation: i.rootCause.operation,
      kind: i.rootCause.kind,
      confidence: i.rootCause.confidence
    },
    explanation: i.rootCause.explanation,
    traceIds: i.traceIds.slice(0, 3)
  };
}
function consoleIncidentLogger(logger = console) {
  const isConsole = logger === console;
  return (e) => {
    const fields = incidentLogFields(e);
    const level = e.type === "opened" || e.type === "updated" ? LEVEL[fields.severity] ?? "warn" : "info";
    const message = `rootspan incident ${fields.id} ${e.type} [${fields.severity}]: ${fields.title}`;
    if (isConsole) logger[level](`${message} ${JSON.stringify(fields)}`);
    else logger[level](fields, message);
  };
}

// src/index.ts
function rootspan(options = {}) {
  const processor = new RootspanSpanProcessor(options);
  return { processor, analyzer: processor.analyzer };
}
// Annotate the CommonJS export names for ESM import in node:
0 && (module.exports = {
  DEFAULT_CALLBACK_QUEUE_SIZE,
  DEFAULT_CLOCK_LAG_MS,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_QUEUE_SIZE,
  DEFAULT_TICK_MS,
  RootspanSpanExporter,
  RootspanSpanProcessor,
  consoleIncidentLogger,
  incidentLogFields,
  rootspan,
  toEngineSpan
});
//# sourceMappingURL=index.cjs.map