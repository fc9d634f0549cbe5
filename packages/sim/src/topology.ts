/**
 * Compiles a {@link Topology} (readable data) into index-based arrays the simulator walks without
 * string lookups, and validates it so a typo in a scenario fails loudly instead of emitting nothing.
 */
import type { DbCall, LatencyDist, Step, Topology } from './types.js';

/** Log-normal with tail, flattened (no optional fields on the hot path). */
export interface Dist {
  median: number;
  sigma: number;
  tailP: number;
  tailFactor: number;
}

export interface CompiledCall {
  /** A database/cache call (CLIENT span only) rather than HTTP to a service. */
  isDb: boolean;
  /** Callee operation index (HTTP) or database index (DB). */
  target: number;
  probability: number;
  /** Infinity when none. */
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  optional: boolean;
  /** DB only: `db.operation.name`, span name, latency, background error rate. */
  dbOperation: string;
  spanName: string;
  latency: Dist;
  errorRate: number;
}

export interface CompiledStep {
  parallel: boolean;
  calls: CompiledCall[];
}

export interface CompiledOp {
  index: number;
  service: number;
  /** `METHOD /route`. */
  name: string;
  method: string;
  route: string;
  self: Dist;
  errorRate: number;
  steps: CompiledStep[];
}

export interface CompiledService {
  index: number;
  name: string;
  version: string;
  port: number;
  ops: number[];
}

export interface CompiledDb {
  index: number;
  name: string;
  system: string;
  address: string;
  port: number;
}

export interface CompiledEntry {
  op: number;
  /** Normalised weight (sums to 1). */
  weight: number;
}

export interface CompiledTopology {
  services: CompiledService[];
  ops: CompiledOp[];
  dbs: CompiledDb[];
  entries: CompiledEntry[];
  serviceIndex: Map<string, number>;
  dbIndex: Map<string, number>;
  /** `service\u0001METHOD /route` -> op index. */
  opIndex: Map<string, number>;
}

/** Splits `METHOD /route`. */
export function parseOperation(name: string): { method: string; route: string } {
  const m = /^([A-Z]+) (\/\S*)$/.exec(name);
  if (!m) throw new Error(`operation "${name}" is not "METHOD /route"`);
  return { method: m[1], route: m[2] };
}

export function toDist(d: LatencyDist): Dist {
  if (!(d.median > 0) || !(d.sigma >= 0)) throw new Error(`bad latency distribution ${JSON.stringify(d)}`);
  return { median: d.median, sigma: d.sigma, tailP: d.tailP ?? 0, tailFactor: d.tailFactor ?? 1 };
}

export function opKey(service: string, operation: string): string {
  return `${service}\u0001${operation}`;
}

const NO_DIST: Dist = { median: 1, sigma: 0, tailP: 0, tailFactor: 1 };

export function compileTopology(topology: Topology): CompiledTopology {
  const serviceIndex = new Map<string, number>();
  const dbIndex = new Map<string, number>();
  const opIndex = new Map<string, number>();
  const services: CompiledService[] = [];
  const ops: CompiledOp[] = [];
  const dbs: CompiledDb[] = topology.databases.map((d, index) => {
    if (dbIndex.has(d.name)) throw new Error(`duplicate database ${d.name}`);
    dbIndex.set(d.name, index);
    return { index, name: d.name, system: d.system ?? d.name, address: d.address ?? d.name, port: d.port };
  });

  // First pass: register every operation so calls can point forwards.
  for (const s of topology.services) {
    if (serviceIndex.has(s.name)) throw new Error(`duplicate service ${s.name}`);
    const svc: CompiledService = { index: services.length, name: s.name, version: s.version, port: s.port ?? 8080, ops: [] };
    serviceIndex.set(s.name, svc.index);
    services.push(svc);
    for (const o of s.operations) {
      const key = opKey(s.name, o.name);
      if (opIndex.has(key)) throw new Error(`duplicate operation ${s.name} ${o.name}`);
      const { method, route } = parseOperation(o.name);
      const op: CompiledOp = { index: ops.length, service: svc.index, name: o.name, method, route, self: toDist(o.selfTime), errorRate: o.errorRate, steps: [] };
      opIndex.set(key, op.index);
      svc.ops.push(op.index);
      ops.push(op);
    }
  }

  for (const s of topology.services) {
    for (const o of s.operations) {
      const op = ops[opIndex.get(opKey(s.name, o.name))!];
      op.steps = (o.calls ?? []).map((step: Step) => {
        const parallel = Array.isArray(step);
        const calls = (parallel ? step : [step]).map((c) => {
          const base = {
            probability: c.probability ?? 1,
            timeoutMs: c.timeoutMs ?? Infinity,
            retries: c.retries ?? 0,
            backoffMs: c.retryBackoffMs ?? 0,
            optional: c.optional ?? false,
          };
          if ('db' in c) {
            const target = dbIndex.get(c.db);
            if (target === undefined) throw new Error(`${s.name} ${o.name} calls unknown database ${c.db}`);
            const d = c as DbCall;
            return {
              isDb: true,
              target,
              ...base,
              dbOperation: d.operation,
              spanName: d.target ? `${d.operation} ${d.target}` : d.operation,
              latency: toDist(d.latency),
              errorRate: d.errorRate ?? 0,
            };
          }
          const target = opIndex.get(opKey(c.service, c.operation));
          if (target === undefined) throw new Error(`${s.name} ${o.name} calls unknown operation ${c.service} ${c.operation}`);
          return { isDb: false, target, ...base, dbOperation: '', spanName: ops[target].method, latency: NO_DIST, errorRate: 0 };
        });
        return { parallel, calls };
      });
    }
  }

  const total = topology.entries.reduce((a, e) => a + e.weight, 0);
  if (!(total > 0)) throw new Error(`topology ${topology.name} has no entry weight`);
  const entries = topology.entries.map((e) => {
    const op = opIndex.get(opKey(e.service, e.operation));
    if (op === undefined) throw new Error(`unknown entry ${e.service} ${e.operation}`);
    return { op, weight: e.weight / total };
  });

  assertAcyclic(ops);
  return { services, ops, dbs, entries, serviceIndex, dbIndex, opIndex };
}

/** A call cycle would recurse forever; reject it up front. */
function assertAcyclic(ops: CompiledOp[]): void {
  const state = new Uint8Array(ops.length); // 0 new, 1 on stack, 2 done
  const visit = (i: number): void => {
    if (state[i] === 2) return;
    if (state[i] === 1) throw new Error(`call cycle through ${ops[i].name}`);
    state[i] = 1;
    for (const st of ops[i].steps) for (const c of st.calls) if (!c.isDb) visit(c.target);
    state[i] = 2;
  };
  for (let i = 0; i < ops.length; i++) visit(i);
}
