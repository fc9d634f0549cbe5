/**
 * Builds one request's trace: walks the call plan from the entry operation, drawing durations, errors
 * and timeouts, and hands each finished span to the batcher. Results of a sub-call come back through
 * fields (`outError`, `outCode`) instead of result objects, so the hot path allocates only the spans.
 */
import type { Span } from '@rootspan/engine';
import type { Batcher } from './batcher.js';
import type { FaultPlan } from './faults.js';
import type { Rng } from './random.js';
import type { CompiledForeign } from './foreign.js';
import type { CompiledCall, CompiledTopology, Dist } from './topology.js';

/** Share of an operation's self time spent before its first call; the rest is spread after each step. */
const PRE_SHARE = 0.4;
/** One-way network delay between client and server spans: uniform in [NET_MIN, NET_MIN + NET_SPREAD) ms. */
const NET_MIN = 0.15;
const NET_SPREAD = 0.5;
/** Calls of a parallel group start this far apart (the loop issuing them takes a little time). */
const PARALLEL_STAGGER = 0.02;
/** An invocation that stops part-way (exception, early return) does this share of its usual own work. */
const ABORT_SELF_SHARE = 1 / 3;

/** Microsecond resolution keeps times exact in JSON and well inside double precision for epoch ms. */
function round(t: number): number {
  return Math.round(t * 1000) / 1000;
}

export class TraceBuilder {
  private traceId = '';
  /** Whether the last server invocation / call failed, and the HTTP status it answered with. */
  private outError = false;
  private outCode = 200;

  constructor(
    private readonly topo: CompiledTopology,
    private readonly plan: FaultPlan,
    private readonly batcher: Batcher,
    private readonly rng: Rng,
    /** Emit as another tracer would: service and name only, uninstrumented services absent. */
    private readonly foreign?: CompiledForeign,
  ) {}

  /** Hands a finished span of service `svc` to the batcher, stripped to what a foreign tracer shows. */
  private emit(svc: number, span: Span, opIndex: number): void {
    const f = this.foreign;
    if (f === undefined) {
      this.batcher.add(svc, span);
      return;
    }
    if (f.hidden[svc]) return;
    this.batcher.add(svc, {
      traceId: span.traceId,
      spanId: span.spanId,
      parentSpanId: span.parentSpanId,
      service: f.service[svc],
      // A database call keeps its span name; RPCs are named by the callee's method on both sides.
      name: opIndex >= 0 ? f.op[opIndex] : span.name,
      startTime: span.startTime,
      endTime: span.endTime,
    });
  }

  /** Simulates one request arriving at `t` at entry operation `op`; `rng` must already be seeded for it. */
  request(op: number, t: number): void {
    this.traceId = this.rng.traceId();
    this.server(op, t, undefined);
  }

  private draw(d: Dist): number {
    const rng = this.rng;
    let v = d.sigma > 0 ? d.median * Math.exp(d.sigma * rng.normal()) : d.median;
    if (d.tailP > 0 && rng.next() < d.tailP) v *= d.tailFactor;
    return v;
  }

  /** Server span of `opIndex` starting at `start`; returns its end time and sets `outError`/`outCode`. */
  private server(opIndex: number, start: number, parentId: string | undefined): number {
    const rng = this.rng;
    const op = this.topo.ops[opIndex];
    const svc = op.service;
    const spanId = rng.spanId();
    const version = this.plan.versionAt(svc, start);

    let errorP = op.errorRate;
    let faultCode = 500;
    let mul = 1;
    let addMs = 0;
    let hangMs = 0;
    let abort = false;
    let abortError = false;
    let repeat = 1;
    let repeatCall = '';
    if (this.plan.hasOpFaults(opIndex)) {
      const f = this.plan.opState(opIndex, start);
      if (f.errorP > 0) {
        errorP = 1 - (1 - errorP) * (1 - f.errorP);
        faultCode = f.statusCode;
      }
      mul = f.selfMul;
      addMs = f.addMs;
      if (f.hangMs > 0 && rng.next() < f.hangP) hangMs = f.hangMs;
      repeat = f.repeat;
      repeatCall = f.repeatCall;
      if (f.abortP > 0 && rng.next() < f.abortP) {
        abort = true;
        abortError = f.abortError;
      }
    }
    const self = (this.draw(op.self) * mul + addMs) * (abort ? ABORT_SELF_SHARE : 1);
    // Decided up front but surfaced at the end: the handler does its calls, then fails building the
    // answer, so an operation's own bug does not change its callees' traffic.
    const ownError = errorP > 0 && rng.next() < errorP;

    // An aborted invocation makes its first step's calls only.
    const steps = abort ? op.steps.slice(0, op.steps.length > 1 ? 1 : 0) : op.steps;
    let t: number;
    let failed = false;
    if (steps.length === 0) {
      t = start + self + hangMs;
    } else {
      // A hang blocks before the calls (a lock, a stuck pool), so callers see nothing downstream.
      t = start + self * PRE_SHARE + hangMs;
      const gap = (self * (1 - PRE_SHARE)) / steps.length;
      for (let s = 0; s < steps.length; s++) {
        const calls = steps[s].calls;
        if (!steps[s].parallel) {
          const c = calls[0];
          if (c.probability >= 1 || rng.next() < c.probability) {
            // An N+1 loop (RepeatFault) makes the call again and again, each after the last.
            const times = repeat > 1 && (repeatCall === '' || repeatCall === c.spanName) ? repeat : 1;
            for (let n = 0; n < times && !failed; n++) {
              t = this.call(c, t, spanId, svc, version);
              if (this.outError && !c.optional) failed = true;
            }
          }
        } else {
          // Promise.allSettled-like: the step ends with its slowest call.
          let end = t;
          for (let i = 0; i < calls.length; i++) {
            const c = calls[i];
            if (c.probability < 1 && rng.next() >= c.probability) continue;
            const e = this.call(c, t + i * PARALLEL_STAGGER, spanId, svc, version);
            if (e > end) end = e;
            if (this.outError && !c.optional) failed = true;
          }
          t = end;
        }
        if (failed) {
          // A required call failed: remaining steps are skipped and the error is answered quickly.
          t += gap * 0.25;
          break;
        }
        t += gap;
      }
    }

    const error = ownError || failed || abortError;
    const code = error ? (ownError && !abortError ? faultCode : 500) : 200;
    const attributes: Span['attributes'] = {
      'http.request.method': op.method,
      'http.route': op.route,
      'http.response.status_code': code,
    };
    if (error) attributes['error.type'] = String(code);
    this.emit(svc, {
      traceId: this.traceId,
      spanId,
      parentSpanId: parentId,
      service: this.topo.services[svc].name,
      serviceVersion: version,
      name: op.name,
      kind: 'server',
      startTime: round(start),
      endTime: round(t),
      status: error ? 'error' : 'unset',
      attributes,
    }, opIndex);
    this.outError = error;
    this.outCode = code;
    return t;
  }

  /** One call (all its attempts) made by service `svc`; returns when the caller has its answer; sets `outError`. */
  private call(c: CompiledCall, t: number, parentId: string, svc: number, version: string): number {
    const attempts = c.retries + 1;
    for (let a = 0; a < attempts; a++) {
      if (a > 0) t += c.backoffMs;
      const end = c.isDb ? this.dbAttempt(c, t, parentId, svc, version) : this.httpAttempt(c, t, parentId, svc, version);
      t = end;
      if (!this.outError) return t;
    }
    return t;
  }

  private httpAttempt(c: CompiledCall, t: number, parentId: string, svc: number, version: string): number {
    const rng = this.rng;
    const clientId = rng.spanId();
    const callee = this.topo.services[this.topo.ops[c.target].service];
    const out = NET_MIN + rng.next() * NET_SPREAD + this.plan.netDelay(svc, t);
    const back = NET_MIN + rng.next() * NET_SPREAD + this.plan.netDelay(callee.index, t);
    // The callee runs to completion whatever the caller does: its span may end after a timeout.
    const serverEnd = this.server(c.target, t + out, clientId);
    let end = serverEnd + back;
    const timedOut = end > t + c.timeoutMs;
    if (timedOut) end = t + c.timeoutMs;
    const failed = timedOut || this.outError;
    const attributes: Span['attributes'] = {
      'http.request.method': c.spanName,
      'server.address': callee.name,
      'server.port': callee.port,
    };
    if (!timedOut) attributes['http.response.status_code'] = this.outCode;
    if (failed) attributes['error.type'] = timedOut ? 'timeout' : String(this.outCode);
    return this.emitClient(c, clientId, parentId, svc, version, t, end, failed, timedOut, attributes);
  }

  private dbAttempt(c: CompiledCall, t: number, parentId: string, svc: number, version: string): number {
    const rng = this.rng;
    const db = this.topo.dbs[c.target];
    const spanId = rng.spanId();
    const latency = this.plan.dbLatency(c.target, c.dbOperation, t, this.draw(c.latency));
    const timedOut = latency > c.timeoutMs;
    const end = t + (timedOut ? c.timeoutMs : latency);
    const failed = timedOut || (c.errorRate > 0 && rng.next() < c.errorRate);
    const attributes: Span['attributes'] = {
      'db.system': db.system,
      'db.operation.name': c.dbOperation,
      'server.address': db.address,
      'server.port': db.port,
    };
    if (failed) attributes['error.type'] = timedOut ? 'timeout' : 'db_error';
    return this.emitClient(c, spanId, parentId, svc, version, t, end, failed, timedOut, attributes);
  }

  /** Emits a client span (HTTP or database) and records whether the call failed; returns its end time. */
  private emitClient(
    c: CompiledCall,
    spanId: string,
    parentId: string,
    svc: number,
    version: string,
    t: number,
    end: number,
    failed: boolean,
    timedOut: boolean,
    attributes: Span['attributes'],
  ): number {
    const span: Span = {
      traceId: this.traceId,
      spanId,
      parentSpanId: parentId,
      service: this.topo.services[svc].name,
      serviceVersion: version,
      name: c.spanName,
      kind: 'client',
      startTime: round(t),
      endTime: round(end),
      status: failed ? 'error' : 'unset',
      attributes,
    };
    if (timedOut) span.statusMessage = `timeout after ${c.timeoutMs} ms`;
    this.emit(svc, span, c.isDb ? -1 : c.target);
    this.outError = failed;
    return end;
  }
}
