import type { ApiIncident } from './api';

export function Severity({ value }: { value: ApiIncident['severity'] }) {
  return <span class={`badge sev-${value}`}>{value}</span>;
}

export function Status({ value }: { value: ApiIncident['status'] }) {
  return (
    <span class={`pill st-${value}`} data-status={value}>
      {value}
    </span>
  );
}
