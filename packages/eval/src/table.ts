/** The fixed-width text report: one row per scenario, a totals row, then the goals. */
import { label } from './score.js';
import type { Goal, ScenarioResult, SuiteTotals } from './types.js';

interface Column {
  title: string;
  width: number;
  align?: 'right';
}

const COLUMNS: Column[] = [
  { title: 'scenario', width: 35 },
  { title: 'expected', width: 36 },
  { title: 'got (top 3)', width: 56 },
  { title: 'AC@1', width: 5 },
  { title: 'AC@3', width: 5 },
  { title: 'TTD s', width: 11, align: 'right' },
  { title: 'inc', width: 5, align: 'right' },
  { title: 'false', width: 5, align: 'right' },
];

/** Pads or cuts to exactly `width` characters (cut with an ellipsis, so a truncation is visible). */
function fit(text: string, width: number, align?: 'right'): string {
  const chars = [...text];
  if (chars.length > width) return `${chars.slice(0, width - 1).join('')}…`;
  const pad = ' '.repeat(width - chars.length);
  return align === 'right' ? pad + text : text + pad;
}

function row(cells: string[]): string {
  return cells.map((c, i) => fit(c, COLUMNS[i].width, COLUMNS[i].align)).join('  ').trimEnd();
}

const mark = (ok: boolean | null): string => (ok === null ? '–' : ok ? '✓' : '✗');
const seconds = (ms: number | null): string => (ms === null ? '—' : (ms / 1000).toFixed(1));

function scenarioCells(r: ScenarioResult): string[] {
  const s = r.score;
  const got = s.healthy
    ? s.incidents === 0
      ? '—'
      : r.incidents.map((i) => label(i.rootCause)).join('; ')
    : s.faults.map((f) => (f.got.length > 0 ? f.got.join(', ') : '—')).join(' | ');
  return [
    r.error ? `${r.name} (ERROR)` : r.name,
    s.healthy ? '(healthy)' : s.expected.join(' + '),
    got,
    mark(s.ac1),
    mark(s.ac3),
    s.healthy ? '–' : s.faults.map((f) => seconds(f.ttdMs)).join('/'),
    `${s.incidents}/${s.expectedIncidents}`,
    String(s.falseIncidents),
  ];
}

function totalsCells(totals: SuiteTotals): string[] {
  const median = totals.medianTtdMs === null ? '—' : `${seconds(totals.medianTtdMs)} med`;
  return [
    `TOTAL (${totals.scenarios} scenarios)`,
    `${totals.faultScenarios} fault, ${totals.healthyScenarios} healthy`,
    `healthy runs clean ${totals.healthyClean}/${totals.healthyScenarios}`,
    `${totals.ac1}/${totals.faultScenarios}`,
    `${totals.ac3}/${totals.faultScenarios}`,
    median,
    '',
    String(totals.falseIncidents),
  ];
}

/** The table, the totals row and the goals block, ready to print. */
export function formatTable(results: readonly ScenarioResult[], totals: SuiteTotals, goals: readonly Goal[]): string {
  const header = row(COLUMNS.map((c) => c.title));
  const rule = '─'.repeat(header.length);
  const lines = [header, rule, ...results.map((r) => row(scenarioCells(r))), rule];
  lines.push(row(totalsCells(totals)));
  lines.push('', 'Goals:');
  for (const g of goals) lines.push(`  ${g.pass ? 'PASS' : 'FAIL'}  ${g.name}: ${g.actual}`);
  lines.push(
    '',
    `${totals.spans.toLocaleString('en-US')} spans; ${(totals.wallMs / 1000).toFixed(1)} s of scenario time on all workers${totals.errors > 0 ? `; ${totals.errors} scenario(s) FAILED to run` : ''}`,
  );
  return lines.join('\n');
}

/** The same report as a Markdown table and goal list (for the README). */
export function formatMarkdown(results: readonly ScenarioResult[], totals: SuiteTotals, goals: readonly Goal[]): string {
  const line = (cells: string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  const lines = [line(COLUMNS.map((c) => c.title)), `|${COLUMNS.map((c) => (c.align === 'right' ? ' ---: ' : ' --- ')).join('|')}|`];
  for (const r of results) lines.push(line(scenarioCells(r)));
  lines.push(line(totalsCells(totals).map((c) => (c ? `**${c}**` : c))));
  lines.push('');
  for (const g of goals) lines.push(`- ${g.pass ? 'PASS' : 'FAIL'} — ${g.name}: ${g.actual}`);
  return lines.join('\n');
}
