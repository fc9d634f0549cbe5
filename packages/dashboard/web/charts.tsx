/**
 * Per-operation charts with uPlot: latency quantiles over the learned band (typical to p95), error rate and
 * request rate against their baselines, incident starts marked as vertical lines.
 */
import uPlot from 'uplot';
import { useEffect, useMemo, useRef } from 'preact/hooks';
import type { ApiSeries } from './api';
import { ms, pct, rate } from './format';

type Series = ApiSeries['series'][number];

export interface Marker {
  /** Epoch ms. */
  at: number;
  label: string;
}

const C = {
  p50: '#5b9cff',
  p95: '#b48cff',
  p99: '#ff7ab6',
  err: '#f25f5c',
  rate: '#3ecf8e',
  band: 'rgba(142, 160, 190, 0.16)',
  baseline: 'rgba(170, 185, 210, 0.75)',
  grid: 'rgba(255, 255, 255, 0.06)',
  axis: '#8b95a5',
  marker: '#f25f5c',
};

/** Draws the incident markers after the series. */
function markers(list: Marker[]): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx;
        ctx.save();
        for (const m of list) {
          const x = u.valToPos(m.at / 1000, 'x', true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.strokeStyle = C.marker;
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.setLineDash([5 * devicePixelRatio, 4 * devicePixelRatio]);
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.setLineDash([]);
          ctx.fillStyle = C.marker;
          ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
          ctx.fillText(m.label, x + 4 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
        }
        ctx.restore();
      },
    },
  };
}

function axes(format: (v: number) => string): uPlot.Axis[] {
  const common = { stroke: C.axis, grid: { stroke: C.grid, width: 1 }, ticks: { stroke: C.grid, width: 1 }, font: '11px system-ui, sans-serif' };
  return [common, { ...common, size: 64, values: (_u, vals) => vals.map((v) => (v === null ? '' : format(v))) }];
}

interface ChartSpec {
  title: string;
  testId: string;
  format: (v: number) => string;
  series: uPlot.Series[];
  data: uPlot.AlignedData;
  bands?: uPlot.Band[];
}

function Chart({ spec, markers: list, range }: { spec: ChartSpec; markers: Marker[]; range: [number, number] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    // A range reaching before the first rollup starts one minute before it: no empty half chart.
    const first = spec.data[0][0];
    const x0 = first === undefined ? range[0] / 1000 : Math.max(range[0] / 1000, first - 120);
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height: 190,
      legend: { show: true, live: true },
      cursor: { points: { size: 6 } },
      scales: { x: { time: true, range: () => [x0, range[1] / 1000] }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] } },
      axes: axes(spec.format),
      series: [{}, ...spec.series],
      bands: spec.bands,
      plugins: [markers(list)],
    };
    const plot = new uPlot(opts, spec.data, el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(300, el.clientWidth), height: 190 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [spec, list, range[0], range[1]]);
  return (
    <div class="chart" data-chart={spec.testId}>
      <div class="chart-title">{spec.title}</div>
      <div ref={box} />
    </div>
  );
}

const line = (label: string, stroke: string, format: (v: number) => string, width = 1.6): uPlot.Series => ({
  label,
  stroke,
  width,
  spanGaps: false,
  value: (_u, v) => (v === null || v === undefined ? '–' : format(v)),
});
const baseline = (label: string, format: (v: number) => string): uPlot.Series => ({
  label,
  stroke: C.baseline,
  width: 1,
  dash: [4, 4],
  points: { show: false },
  value: (_u, v) => (v === null || v === undefined ? '–' : format(v)),
});

/** The three charts of one operation over `range` (epoch ms). */
export function OperationCharts({ series, markers: list, range, stacked = false }: { series: Series; markers: Marker[]; range: [number, number]; stacked?: boolean }) {
  const specs = useMemo(() => chartSpecs(series), [series]);
  return (
    <div class={`charts${stacked ? ' stacked' : ''}`}>
      {specs.map((s) => (
        <Chart key={s.testId} spec={s} markers={list} range={range} />
      ))}
    </div>
  );
}

function chartSpecs(series: Series): ChartSpec[] {
  const pts = series.points;
  // Each point is drawn at the end of its period: the value is known from then on.
  const xs = pts.map((p) => (Date.parse(p.start) + p.durationMs) / 1000);
  const base = (pick: (b: NonNullable<Series['baseline']>) => number | null | undefined) =>
    pts.map((p) => {
      const b = p.baseline ?? series.baseline;
      const v = b ? pick(b) : null;
      return v === undefined ? null : v;
    });
  const specs: ChartSpec[] = [
    {
      title: 'Latency (successful requests)',
      testId: 'latency',
      format: ms,
      data: [xs, base((b) => b.latency?.p95), base((b) => b.latency?.typical), pts.map((p) => p.latency?.p50 ?? null), pts.map((p) => p.latency?.p95 ?? null), pts.map((p) => p.latency?.p99 ?? null)],
      series: [
        baseline('learned p95', ms),
        baseline('learned typical', ms),
        line('p50', C.p50, ms, 2),
        line('p95', C.p95, ms),
        line('p99', C.p99, ms),
      ],
      bands: [{ series: [1, 2], fill: C.band }],
    },
    {
      title: 'Error rate',
      testId: 'errors',
      format: (v) => pct(v),
      data: [xs, pts.map((p) => (p.requests > 0 ? p.errorRate : null)), base((b) => b.errorRate)],
      series: [{ ...line('errors', C.err, (v) => pct(v), 2), fill: 'rgba(242, 95, 92, 0.12)' }, baseline('baseline', (v) => pct(v))],
    },
    {
      title: 'Request rate',
      testId: 'rate',
      format: rate,
      data: [xs, pts.map((p) => p.rate), base((b) => b.rate)],
      series: [{ ...line('requests', C.rate, rate, 2), fill: 'rgba(62, 207, 142, 0.10)' }, baseline('baseline', rate)],
    },
  ];
  return specs;
}
