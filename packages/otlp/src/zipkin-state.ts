/**
 * What the Zipkin decoder (foreign.ts) remembers of one input across its records or slices: the forms of
 * its trace ids, and its B3 shared server spans. Both are bounded: the most recent are kept.
 *
 * Trace ids: Zipkin traces recorded mid-migration to 128-bit trace ids (services with Brave's
 * `traceId128Bit` write the trace's 32-hex id, older ones only its low 64 bits, 16 hex). Zipkin itself
 * (`strictTraceId=false`) groups such spans by the right-most 16 hex digits; so does the decoder.
 */

/** Traces whose id form, and shared server spans, the decoder remembers per input; older ones are forgotten first. */
export const MAX_JOINED_TRACES = 65_536;

/** Sets `key` in `map`, forgetting the oldest entry (a Map iterates in insertion order) when it is full; says whether one was. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): boolean {
  const full = map.size >= max && !map.has(key);
  if (full) map.delete(map.keys().next().value as string);
  map.set(key, value);
  return full;
}

/** The Zipkin decoder's memory of one input. */
export class ZipkinState {
  /** The trace ids' forms. */
  readonly traceIds: TraceIdJoin;
  /** B3 shared server spans (`low trace key + ' ' + span id`) → their service. */
  private readonly shared = new Map<string, string>();

  constructor(private readonly max = MAX_JOINED_TRACES) {
    this.traceIds = new TraceIdJoin(max);
  }

  /** Notes a shared server span: trace id (either form), span id, service. */
  noteShared(traceId: string, spanId: string, service: string): void {
    remember(this.shared, `${lowTraceKey(traceId)} ${spanId}`, service, this.max);
  }

  /** The service of the shared server span `spanId` of the trace, if noted. */
  sharedService(traceId: string, spanId: string): string | undefined {
    return this.shared.get(`${lowTraceKey(traceId)} ${spanId}`);
  }
}

const HEX_128 = /^[0-9a-f]{32}$/;

/** The id's low 64 bits (its right-most 16 hex digits) for a 128-bit (normalised) hex id; any other id as it is. */
export function lowTraceKey(id: string): string {
  return id.length === 32 && HEX_128.test(id) ? id.slice(16) : id;
}

/**
 * Gives the spans of one trace one id when some carry its 128-bit id and some only the low 64 bits of it.
 * Rule: the first form seen in the input for a low-64-bit key is the trace's id; a span with the other
 * form takes it. Ids are normalised (lowercase, 128-bit ones with a zero upper half already cut to 16
 * hex: `hexId`) before they get here.
 *
 * Memory is bounded: the forms of the last {@link MAX_JOINED_TRACES} traces are kept (first seen, first
 * forgotten). A trace's spans are near each other in an export, so only spans that many traces apart
 * stay split; `forgotten` counts the traces forgotten so.
 */
export class TraceIdJoin {
  private readonly forms = new Map<string, string>();
  /** Traces forgotten to keep the memory bounded. */
  forgotten = 0;

  constructor(private readonly max = MAX_JOINED_TRACES) {}

  /** The trace id to give a span whose (normalised) trace id is `id`. */
  join(id: string): string {
    const key = lowTraceKey(id);
    const form = this.forms.get(key);
    if (form !== undefined) return form;
    if (remember(this.forms, key, id, this.max)) this.forgotten++;
    return id;
  }
}
