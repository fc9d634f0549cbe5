/**
 * Names and visibility of spans emitted in a {@link ForeignStyle}: what traces from other tracers look
 * like once converted to OTLP (service and name only; uninstrumented services absent).
 */
import type { CompiledTopology } from './topology.js';
import type { ForeignStyle } from './types.js';

export interface CompiledForeign {
  /** Reported service name per service index. */
  service: string[];
  /** Span name per operation index (server and client side alike). */
  op: string[];
  /** Per service index: emits no spans. */
  hidden: boolean[];
}

function pascal(word: string): string {
  return word.length === 0 ? '' : word[0].toUpperCase() + word.slice(1).toLowerCase();
}

/** `GET /products/:id` → `GetProductsById`: a gRPC-style method name. */
export function rpcMethod(method: string, route: string): string {
  const parts = route
    .split('/')
    .filter((p) => p.length > 0)
    .map((p) => (p.startsWith(':') ? `By${pascal(p.slice(1))}` : p.split(/[^A-Za-z0-9]+/).map(pascal).join('')));
  return pascal(method) + parts.join('');
}

export function compileForeign(topo: CompiledTopology, style: ForeignStyle, topologyName: string): CompiledForeign {
  const pkg = style.package ?? topologyName;
  const hiddenNames = new Set(style.uninstrumented ?? []);
  for (const name of hiddenNames) {
    const s = topo.serviceIndex.get(name);
    if (s === undefined) throw new Error(`uninstrumented service ${name} is not in the topology`);
    const calls = topo.services[s].ops.some((o) => topo.ops[o].steps.some((st) => st.calls.some((c) => !c.isDb)));
    if (calls) throw new Error(`uninstrumented service ${name} must be a leaf (its callees would lose their parents)`);
  }
  const grpc = style.naming === 'grpc';
  return {
    service: topo.services.map((s) => (grpc ? `${s.name.replace(/[^a-z0-9]/gi, '').toLowerCase()}service` : s.name)),
    op: topo.ops.map((o) => {
      if (!grpc) return o.name;
      const svc = topo.services[o.service].name;
      return `${pkg}.${pascal(svc.replace(/[^a-z0-9]/gi, ''))}Service/${rpcMethod(o.method, o.route)}`;
    }),
    hidden: topo.services.map((s) => hiddenNames.has(s.name)),
  };
}
