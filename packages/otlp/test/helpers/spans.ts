/** Sample engine spans shared by the reader tests. */
import type { Span } from '@rootspan/engine';

/** `n` spans of `service`: traces of three, every fifth an error with a message, analysed attributes, two versions. */
export function spans(n: number, service: string): Span[] {
  return Array.from({ length: n }, (_, i) => ({
    traceId: (Math.floor(i / 3) + 1).toString(16).padStart(32, 'a'),
    spanId: (i + 1).toString(16).padStart(16, '0'),
    parentSpanId: i % 3 === 0 ? undefined : (i - (i % 3) + 1).toString(16).padStart(16, '0'),
    service,
    serviceVersion: i % 2 === 0 ? '1.2.3' : undefined,
    name: `GET /items/${i % 7}`,
    kind: i % 3 === 0 ? ('server' as const) : ('client' as const),
    startTime: 1_700_000_000_000 + i,
    endTime: 1_700_000_000_010 + i,
    status: i % 5 === 0 ? ('error' as const) : ('unset' as const),
    statusMessage: i % 5 === 0 ? `boom ${i}` : undefined,
    attributes: { 'http.route': `/items/${i % 7}`, 'http.response.status_code': i % 5 === 0 ? 500 : 200 },
  }));
}
