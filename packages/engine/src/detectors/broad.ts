import type { Recorder } from '../ops/recorder.js';
import { EVENT_LOOP_OPERATION } from '../model/loop.js';

/** Requests an operation needs in the bucket for its typical time to count. */
const MIN_SAMPLES = 5;
/** An operation slowed: its typical time at least this many times its baseline's... */
const SLOWED = 1.2;
/** ...and that far above it, in standard errors of the bucket's mean (log scale): not a sparse bucket's noise. */
const SLOWED_Z = 2;
/** Nodes with data, at least, for a slowdown of most of them to say anything about their host. */
const MIN_NODES = 4;
/**
 * Share of those nodes that slowed, at least. Three in four missed a shared host whose one service on another
 * runtime did not slow and whose busiest service slowed in fewer than half its operations that bucket (probe
 * 13: four of six, 18:46:05), and its slowdown opened two incidents, each blaming a database.
 */
const MOST = 2 / 3;

/**
 * Whether most of what the analyzer watches slowed at once in bucket `index`: services in their own time
 * (not what they waited for) and databases and other peers alike, each a little. A fault slows its service
 * or backend and those waiting for it, never the own time of services that do not call it; a shared host
 * short of CPU (a noisy neighbour, a build, a GC storm) slows everything on it. A node (a service, or a
 * peer) slowed when half its operations with {@link MIN_SAMPLES} requests did (self time for a service's;
 * a sampled event loop is not an operation's time). `nodes` is scratch: per node, operations and slowed.
 */
export function broadSlowdown(rec: Recorder, index: number, nodes: Map<string, number[]>): boolean {
  nodes.clear();
  for (const op of rec.liveOps) {
    if (op.operation === EVENT_LOOP_OPERATION) continue;
    const b = op.ring.get(index);
    if (b === undefined) continue;
    const service = op.nodeType === 'service';
    const m = service ? b.self.ok : b.latency.ok;
    const base = (service ? op.self : op.latency).detector.baseline;
    if (m.n < MIN_SAMPLES || !base.ready) continue;
    const shift = m.sumLog / m.n - base.mean;
    const slowed = shift >= Math.log(SLOWED) && shift >= SLOWED_Z * Math.sqrt(base.variance / m.n);
    const node = nodes.get(op.service);
    if (node === undefined) nodes.set(op.service, [1, slowed ? 1 : 0]);
    else {
      node[0]++;
      if (slowed) node[1]++;
    }
  }
  if (nodes.size < MIN_NODES) return false;
  let slowed = 0;
  for (const [ops, slow] of nodes.values()) if (2 * slow >= ops) slowed++;
  return slowed >= MOST * nodes.size;
}
