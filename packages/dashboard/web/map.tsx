/** The service map: `/aiops/graph` laid out left to right by dagre, coloured by health, root causes marked. */
import dagre from '@dagrejs/dagre';
import { useMemo } from 'preact/hooks';
import type { ApiGraph, ApiIncident } from './api';
import { pct, rate } from './format';
import { href } from './hooks';

const NODE_W = 176;
const NODE_H = 58;
const LABEL_W = 136;
const LABEL_H = 20;

type Tone = 'ok' | 'warn' | 'bad' | 'idle';

/** Health 90+ is green, 60–89 amber, below red; a peer (no health score) is red while anomalous. */
export function tone(health: number | null, anomalous: boolean): Tone {
  if (health === null) return anomalous ? 'bad' : 'idle';
  if (health < 60) return 'bad';
  if (health < 90 || anomalous) return 'warn';
  return 'ok';
}

interface Point {
  x: number;
  y: number;
}

/** A smooth path through dagre's edge points (quadratic joins at the midpoints). */
function edgePath(points: Point[]): string {
  if (points.length < 2) return '';
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i];
    const n = points[i + 1];
    d += ` Q${p.x},${p.y} ${(p.x + n.x) / 2},${(p.y + n.y) / 2}`;
  }
  const last = points[points.length - 1];
  return `${d} L${last.x},${last.y}`;
}

export function ServiceMap({ graph, incidents }: { graph: ApiGraph; incidents: ApiIncident[] }) {
  const layout = useMemo(() => {
    const g = new dagre.graphlib.Graph({ multigraph: false });
    g.setGraph({ rankdir: 'LR', nodesep: 36, ranksep: 110, edgesep: 24, marginx: 24, marginy: 44 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const s of graph.services) g.setNode(s.name, { width: NODE_W, height: NODE_H });
    for (const p of graph.peers) if (!g.hasNode(p.name)) g.setNode(p.name, { width: NODE_W, height: NODE_H });
    for (const e of graph.edges) if (e.from !== e.to) g.setEdge(e.from, e.to, { width: LABEL_W, height: LABEL_H, labelpos: 'c' });
    dagre.layout(g);
    const size = g.graph();
    return { g, width: size.width ?? 0, height: size.height ?? 0 };
  }, [graph]);

  const culprits = new Map<string, ApiIncident>();
  for (const inc of incidents) if (inc.status !== 'resolved' && !culprits.has(inc.rootCause.service)) culprits.set(inc.rootCause.service, inc);
  const nodes = [
    ...graph.services.map((s) => ({ name: s.name, peer: false, health: s.health, anomalous: s.anomalous, ops: s.operations.length })),
    ...graph.peers.map((p) => ({ name: p.name, peer: true, health: null, anomalous: p.anomalous, ops: 0 })),
  ];
  const { g, width, height } = layout;
  return (
    <svg class="map" viewBox={`0 0 ${width} ${height}`} style={{ maxHeight: `${Math.max(260, height)}px` }} role="img" aria-label="Service map">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" class="arrow" />
        </marker>
        <marker id="arrow-bad" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" class="arrow bad" />
        </marker>
      </defs>
      {graph.edges.map((e) => {
        const edge = e.from !== e.to ? g.edge(e.from, e.to) : undefined;
        if (edge === undefined) return null;
        // Without a rate yet (no call of the edge in a closed bucket), the totals tell.
        const errorRate = e.errorRate ?? (e.calls > 0 ? e.errors / e.calls : 0);
        const failing = e.anomalous || errorRate >= 0.05;
        const label = e.rate === null ? `${e.calls.toLocaleString('en-US')} calls · ${pct(errorRate)} err` : `${rate(e.rate)} · ${pct(e.errorRate)} err`;
        return (
          <g class={`edge${failing ? ' bad' : ''}`} data-edge={`${e.from}->${e.to}`} key={`${e.from}->${e.to}`}>
            <path d={edgePath(edge.points)} marker-end={failing ? 'url(#arrow-bad)' : 'url(#arrow)'} />
            {edge.x !== undefined && (
              <g transform={`translate(${edge.x},${edge.y})`}>
                <rect x={-LABEL_W / 2} y={-LABEL_H / 2} width={LABEL_W} height={LABEL_H} rx="10" class="edge-label" />
                <text text-anchor="middle" dy="4">
                  {label}
                </text>
              </g>
            )}
          </g>
        );
      })}
      {nodes.map((n) => {
        const at = g.node(n.name);
        const t = tone(n.health, n.anomalous);
        const culprit = culprits.get(n.name);
        const x = at.x - NODE_W / 2;
        const y = at.y - NODE_H / 2;
        return (
          <a href={n.peer ? undefined : href('/operations', { service: n.name })} key={n.name}>
            <g class={`node ${t}${n.peer ? ' peer' : ''}${culprit ? ' culprit' : ''}`} data-service={n.name} data-root-cause={culprit ? 'true' : undefined} data-tone={t}>
              {culprit && <rect x={x - 6} y={y - 6} width={NODE_W + 12} height={NODE_H + 12} rx="14" class="halo" />}
              <rect x={x} y={y} width={NODE_W} height={NODE_H} rx={n.peer ? 22 : 9} class="box" />
              <rect x={x} y={y + 10} width="4" height={NODE_H - 20} rx="2" class="stripe" />
              <text x={x + 16} y={y + 24} class="name">
                {n.name.length > 19 ? `${n.name.slice(0, 18)}…` : n.name}
              </text>
              <text x={x + 16} y={y + 43} class="sub">
                {n.peer ? (n.anomalous ? 'peer · anomalous' : 'peer (not instrumented)') : `${n.ops} op${n.ops === 1 ? '' : 's'}${n.anomalous ? ' · anomalous' : ''}`}
              </text>
              {n.health !== null && (
                <text x={x + NODE_W - 12} y={y + 35} text-anchor="end" class="health">
                  {n.health}
                </text>
              )}
              {culprit && (
                <g class="culprit-label" transform={`translate(${at.x},${y - 20})`}>
                  <rect x="-74" y="-13" width="148" height="20" rx="10" />
                  <text text-anchor="middle" dy="1">
                    ROOT CAUSE · {culprit.severity}
                  </text>
                </g>
              )}
            </g>
          </a>
        );
      })}
    </svg>
  );
}
