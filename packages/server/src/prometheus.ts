/** `GET /metrics`: the server's own counters in the Prometheus text exposition format (version 0.0.4). */

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

/** Builds the exposition text one metric family at a time. */
export class Exposition {
  private readonly lines: string[] = [];

  /** A family with its samples; `samples` may be one unlabelled value. */
  family(name: string, type: 'counter' | 'gauge', help: string, samples: number | ReadonlyArray<[Labels, number]>): this {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    if (typeof samples === 'number') this.lines.push(`${name} ${value(samples)}`);
    else for (const [labels, v] of samples) this.lines.push(`${name}${labelText(labels)} ${value(v)}`);
    return this;
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

function value(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}
