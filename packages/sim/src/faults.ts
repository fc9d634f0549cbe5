/**
 * Faults compiled into per-operation, per-database and per-entry lists, so the simulator only looks at
 * the few faults that can touch what it is simulating, and evaluates them with plain arithmetic.
 */
import type { CompiledTopology } from './topology.js';
import { opKey } from './topology.js';
import type { Fault, FaultWindow } from './types.js';

/** Absolute-time window; `period` 0 means no on/off cycle. */
interface Window {
  from: number;
  to: number;
  on: number;
  period: number;
}

/** Everything a fault can do to an operation, with neutral defaults (so evaluation needs no branches per type). */
interface OpEffect {
  w: Window;
  errorP: number;
  statusCode: number;
  mul: number;
  addMs: number;
  hangMs: number;
  hangP: number;
  rampTo: number;
  rampMs: number;
  abortP: number;
  abortError: boolean;
  repeat: number;
  /** Span name of the calls repeated; '' for every one-at-a-time call. */
  repeatCall: string;
}

interface DbEffect {
  w: Window;
  operation: string;
  mul: number;
  addMs: number;
}

interface TrafficEffect {
  w: Window;
  /** Entry op index, or -1 for all. */
  op: number;
  mul: number;
}

/** Effect of the active faults on one operation invocation (a reused scratch object: read it at once). */
export interface OpFaultState {
  errorP: number;
  statusCode: number;
  selfMul: number;
  addMs: number;
  hangMs: number;
  hangP: number;
  /** Probability the invocation stops part-way (see AbortFault), and whether it then answers with an error. */
  abortP: number;
  abortError: boolean;
  /** Times each one-at-a-time call named `repeatCall` ('' for all) is made (see RepeatFault); 1 without. */
  repeat: number;
  repeatCall: string;
}

interface NetEffect {
  w: Window;
  addMs: number;
}

function isActive(w: Window, t: number): boolean {
  return t >= w.from && t < w.to && (w.period === 0 || (t - w.from) % w.period < w.on);
}

/** Fault lists for one simulation run (fault offsets resolved against its start time). */
export class FaultPlan {
  private readonly opEffects: OpEffect[][];
  private readonly dbEffects: DbEffect[][];
  private readonly traffic: TrafficEffect[] = [];
  /** Per service: network delays on packets it sends. */
  private readonly netEffects: NetEffect[][];
  /** Per service: deploys sorted by time. */
  private readonly deploys: Array<Array<{ at: number; version: string }>>;
  private readonly baseVersions: string[];
  private readonly state: OpFaultState = { errorP: 0, statusCode: 500, selfMul: 1, addMs: 0, hangMs: 0, hangP: 0, abortP: 0, abortError: false, repeat: 1, repeatCall: '' };
  /** Largest traffic multiplier any fault applies (>= 1): the arrival process's upper bound. */
  readonly maxTrafficMultiplier: number;

  constructor(topo: CompiledTopology, faults: readonly Fault[], start: number) {
    this.opEffects = topo.ops.map(() => []);
    this.dbEffects = topo.dbs.map(() => []);
    this.deploys = topo.services.map(() => []);
    this.netEffects = topo.services.map(() => []);
    this.baseVersions = topo.services.map((s) => s.version);
    const win = (f: FaultWindow): Window => {
      const to = f.toMs === undefined ? Infinity : start + f.toMs;
      if (!(to > start + f.fromMs)) throw new Error(`fault window ${f.fromMs}..${f.toMs} is empty`);
      const c = f.cycle;
      return { from: start + f.fromMs, to, on: c ? c.onMs : 0, period: c ? c.onMs + c.offMs : 0 };
    };
    const opsOf = (service: string, operation: string | undefined): number[] => {
      const s = topo.serviceIndex.get(service);
      if (s === undefined) throw new Error(`fault targets unknown service ${service}`);
      if (operation === undefined) return topo.services[s].ops;
      const op = topo.opIndex.get(opKey(service, operation));
      if (op === undefined) throw new Error(`fault targets unknown operation ${service} ${operation}`);
      return [op];
    };
    const addOp = (targets: number[], w: Window, e: Partial<OpEffect>): void => {
      const effect: OpEffect = { w, errorP: 0, statusCode: 500, mul: 1, addMs: 0, hangMs: 0, hangP: 0, rampTo: 1, rampMs: 0, abortP: 0, abortError: false, repeat: 1, repeatCall: '', ...e };
      for (const op of targets) this.opEffects[op].push(effect);
    };

    let maxTraffic = 1;
    for (const f of faults) {
      const w = win(f);
      switch (f.type) {
        case 'errors':
          addOp(opsOf(f.service, f.operation), w, { errorP: f.probability, statusCode: f.statusCode ?? 500 });
          break;
        case 'latency':
          addOp(opsOf(f.service, f.operation), w, { mul: f.multiplier ?? 1, addMs: f.addMs ?? 0 });
          break;
        case 'hang':
          addOp(opsOf(f.service, f.operation), w, { hangMs: f.durationMs ?? 30_000, hangP: f.probability ?? 1 });
          break;
        case 'ramp':
          addOp(opsOf(f.service, f.operation), w, { rampTo: f.toMultiplier, rampMs: f.rampMs });
          break;
        case 'cpu':
          addOp(opsOf(f.service, undefined), w, { mul: f.multiplier });
          break;
        case 'repeat':
          if (!(f.times >= 1)) throw new Error(`repeat fault needs times >= 1, got ${f.times}`);
          addOp(opsOf(f.service, f.operation), w, { repeat: Math.round(f.times), repeatCall: f.call ?? '' });
          break;
        case 'exception':
        case 'early-return':
          addOp(opsOf(f.service, f.operation), w, { abortP: f.probability ?? 1, abortError: f.type === 'exception' });
          break;
        case 'net-delay': {
          const s = topo.serviceIndex.get(f.service);
          if (s === undefined) throw new Error(`fault targets unknown service ${f.service}`);
          this.netEffects[s].push({ w, addMs: f.addMs });
          break;
        }
        case 'deploy': {
          const targets = opsOf(f.service, f.operation);
          this.deploys[topo.ops[targets[0]].service].push({ at: w.from, version: f.version });
          if (f.errorProbability !== undefined || f.latencyMultiplier !== undefined) {
            addOp(targets, w, { errorP: f.errorProbability ?? 0, mul: f.latencyMultiplier ?? 1 });
          }
          break;
        }
        case 'db-slow': {
          const db = topo.dbIndex.get(f.db);
          if (db === undefined) throw new Error(`fault targets unknown database ${f.db}`);
          this.dbEffects[db].push({ w, operation: f.operation ?? '', mul: f.multiplier, addMs: f.addMs ?? 0 });
          break;
        }
        case 'traffic': {
          let op = -1;
          if (f.operation !== undefined) {
            op = topo.entries.find((e) => topo.ops[e.op].name === f.operation)?.op ?? -2;
            if (op === -2) throw new Error(`traffic fault targets unknown entry ${f.operation}`);
          }
          this.traffic.push({ w, op, mul: f.multiplier });
          maxTraffic *= Math.max(1, f.multiplier); // overlapping surges multiply
          break;
        }
      }
    }
    for (const d of this.deploys) d.sort((a, b) => a.at - b.at);
    this.maxTrafficMultiplier = maxTraffic;
  }

  /** Combined effect of the faults active on operation `op` at time `t`. */
  opState(op: number, t: number): OpFaultState {
    const s = this.state;
    s.errorP = 0;
    s.statusCode = 500;
    s.selfMul = 1;
    s.addMs = 0;
    s.hangMs = 0;
    s.hangP = 0;
    s.abortP = 0;
    s.abortError = false;
    s.repeat = 1;
    s.repeatCall = '';
    const effects = this.opEffects[op];
    for (let i = 0; i < effects.length; i++) {
      const e = effects[i];
      if (!isActive(e.w, t)) continue;
      if (e.errorP > 0) {
        s.errorP = 1 - (1 - s.errorP) * (1 - e.errorP);
        s.statusCode = e.statusCode;
      }
      s.selfMul *= e.mul;
      if (e.rampMs > 0) s.selfMul *= 1 + (e.rampTo - 1) * Math.min(1, (t - e.w.from) / e.rampMs);
      s.addMs += e.addMs;
      if (e.hangMs > s.hangMs) {
        s.hangMs = e.hangMs;
        s.hangP = e.hangP;
      }
      if (e.abortP > s.abortP) {
        s.abortP = e.abortP;
        s.abortError = e.abortError;
      }
      if (e.repeat > s.repeat) {
        s.repeat = e.repeat;
        s.repeatCall = e.repeatCall;
      }
    }
    return s;
  }

  /** Whether any fault is attached to `op` (lets the simulator skip evaluation for untouched ops). */
  hasOpFaults(op: number): boolean {
    return this.opEffects[op].length > 0;
  }

  /** Latency of a database call after db faults: `latency * multiplier + addMs`. */
  dbLatency(db: number, operation: string, t: number, latency: number): number {
    const effects = this.dbEffects[db];
    for (let i = 0; i < effects.length; i++) {
      const e = effects[i];
      if ((e.operation === '' || e.operation === operation) && isActive(e.w, t)) latency = latency * e.mul + e.addMs;
    }
    return latency;
  }

  /** Extra delay (ms) on packets service `s` sends at `t`. */
  netDelay(s: number, t: number): number {
    const effects = this.netEffects[s];
    let ms = 0;
    for (let i = 0; i < effects.length; i++) if (isActive(effects[i].w, t)) ms += effects[i].addMs;
    return ms;
  }

  /** Request-rate multiplier of entry operation `op` at `t`. */
  trafficMultiplier(op: number, t: number): number {
    let m = 1;
    for (let i = 0; i < this.traffic.length; i++) {
      const e = this.traffic[i];
      if ((e.op === -1 || e.op === op) && isActive(e.w, t)) m *= e.mul;
    }
    return m;
  }

  /** `service.version` of service `s` at `t` (the latest deploy at or before `t`). */
  versionAt(s: number, t: number): string {
    const d = this.deploys[s];
    let v = this.baseVersions[s];
    for (let i = 0; i < d.length && d[i].at <= t; i++) v = d[i].version;
    return v;
  }
}
