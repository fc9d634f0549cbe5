import { describe, expect, it, vi } from 'vitest';
import { consoleIncidentLogger } from '../src/index.js';
import { incidentEvent } from './helpers/fakes.js';

function pinoLike() {
  const calls: Array<{ level: string; args: unknown[] }> = [];
  const rec = (level: string) => (...args: unknown[]) => void calls.push({ level, args });
  return { calls, logger: { info: rec('info'), warn: rec('warn'), error: rec('error') } };
}

describe('consoleIncidentLogger', () => {
  it('logs one structured record per event, pino argument order, severity as level', () => {
    const { calls, logger } = pinoLike();
    const log = consoleIncidentLogger(logger);
    log(incidentEvent('opened', 'critical'));
    log(incidentEvent('updated', 'medium'));
    log(incidentEvent('opened', 'low'));
    log(incidentEvent('resolved', 'critical'));
    expect(calls.map((c) => c.level)).toEqual(['error', 'warn', 'info', 'info']);
    const [fields, message] = calls[0].args as [Record<string, unknown>, string];
    expect(fields).toMatchObject({
      event: 'rootspan.incident',
      type: 'opened',
      id: 'inc-1',
      severity: 'critical',
      rootCause: { service: 'payment', operation: 'POST /payment', kind: 'errors', confidence: 0.9 },
      explanation: 'payment POST /payment error rate 100% vs baseline 0%',
    });
    expect(fields.traceIds).toHaveLength(3);
    expect(message).toMatch(/^rootspan incident inc-1 opened \[critical\]: payment POST \/payment errors$/);
  });

  it('prints a single line with JSON to the console by default', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    consoleIncidentLogger()(incidentEvent('opened', 'high'));
    expect(spy).toHaveBeenCalledTimes(1);
    const [line] = spy.mock.calls[0] as [string];
    expect(line).not.toContain('\n');
    const json = JSON.parse(line.slice(line.indexOf('{')));
    expect(json).toMatchObject({ event: 'rootspan.incident', id: 'inc-1', rootCause: { service: 'payment' } });
    spy.mockRestore();
  });
});
