import type { IncidentEvent, Severity } from '@rootspan/engine';

/** Anything with leveled log methods: `console`, pino, winston, bunyan, a Fastify/Nest logger... */
export interface LevelLogger {
  info(...args: unknown[]): unknown;
  warn(...args: unknown[]): unknown;
  error(...args: unknown[]): unknown;
}

/** The structured fields logged for each incident event. */
export interface IncidentLogFields {
  event: 'rootspan.incident';
  type: IncidentEvent['type'];
  id: string;
  status: string;
  severity: Severity;
  title: string;
  rootCause: { service: string; operation: string | null; kind: string; confidence: number };
  explanation: string;
  traceIds: string[];
}

const LEVEL: Record<Severity, 'info' | 'warn' | 'error'> = {
  low: 'info',
  medium: 'warn',
  high: 'error',
  critical: 'error',
};

/** The fields {@link consoleIncidentLogger} logs for an event (exported for custom sinks). */
export function incidentLogFields(e: IncidentEvent): IncidentLogFields {
  const i = e.incident;
  return {
    event: 'rootspan.incident',
    type: e.type,
    id: i.id,
    status: i.status,
    severity: i.severity,
    title: i.title,
    rootCause: {
      service: i.rootCause.service,
      operation: i.rootCause.operation,
      kind: i.rootCause.kind,
      confidence: i.rootCause.confidence,
    },
    explanation: i.rootCause.explanation,
    traceIds: i.traceIds.slice(0, 3),
  };
}

/**
 * An `onIncident` callback that logs one structured line per incident event.
 *
 * Severity picks the level (low → info, medium → warn, high/critical → error) for `opened` and `updated`;
 * `resolved` and `acknowledged` are good news and log at info. With a structured logger (pino and friends)
 * it calls `logger[level](fields, message)`, pino's argument order; with `console` (the default) it
 * prints `message {json}` on one line so log collectors keep it as one record.
 *
 * @example
 * rootspan({ onIncident: consoleIncidentLogger(pino()) });
 */
export function consoleIncidentLogger(logger: LevelLogger = console): (event: IncidentEvent) => void {
  const isConsole = logger === console;
  return (e) => {
    const fields = incidentLogFields(e);
    const level = e.type === 'opened' || e.type === 'updated' || e.type === 'reopened' ? LEVEL[fields.severity] ?? 'warn' : 'info';
    const message = `rootspan incident ${fields.id} ${e.type} [${fields.severity}]: ${fields.title}`;
    if (isConsole) logger[level](`${message} ${JSON.stringify(fields)}`);
    else logger[level](fields, message);
  };
}
