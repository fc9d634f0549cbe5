import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Span } from '@rootspan/engine';
import type { FinishedSpan } from './sdk.js';

/** What the pruner remembers about one trace: both lists are short (a request's own spans). */
interface TraceNotes {
  /** Pruned span ids and their parents' ids, in pairs: [id, parent, id, parent, ...]. */
  pruned: string[];
  /** Ids that kept spans name as their (local) parent: such a span is never pruned (made when first needed). */
  awaited: string[] | undefined;
  /** Too many spans to follow: nothing more is pruned in this trace. */
  full: boolean;
}

/** Traces remembered per generation: a few seconds of a service at thousands of requests per second. */
const TRACES_PER_GENERATION = 4096;
/** Ids per list of one trace; a trace with more stops being pruned (keeping spans is always correct). */
const MAX_IDS_PER_TRACE = 64;

function indexOf(list: readonly string[], id: string, step: number): number {
  for (let i = 0; i < list.length; i += step) if (list[i] === id) return i;
  return -1;
}

/**
 * Whether the pruner may leave `span` out, from the span alone: an internal span with a parent, not failed (no
 * ERROR status, no HTTP status code). Whether it does depends on the spans of its trace kept so far.
 */
export function prunable(span: FinishedSpan): boolean {
  if (span.kind !== SpanKind.INTERNAL) return false;
  // A parentless internal span is the request itself (a job, a script): the engine counts it.
  if (!span.parentSpanContext?.spanId || span.status?.code === SpanStatusCode.ERROR) return false;
  const a = span.attributes;
  // The engine reads an HTTP status of 5xx as a failure even without an ERROR status.
  return a === undefined || (a['http.response.status_code'] === undefined && a['http.status_code'] === undefined);
}

/**
 * Leaves out the INTERNAL spans the engine learns nothing from, before they cost anything. In the engine
 * an internal span with a parent is neither a request nor a call: it only links the calls below it to
 * their request and, when it failed, locates an error. Express alone adds one per middleware and one per
 * route handler (four of the five spans of a small JSON endpoint).
 *
 * An internal span is pruned when it has a parent, did not fail (no ERROR status, no HTTP status code)
 * and no span kept so far names it as its parent. A span ending later under a pruned one is re-parented
 * to its nearest ancestor that was not pruned, which the engine's traversals (calls made through internal spans,
 * first failure, self time) treat the same. Spans come here in the order they end, mostly children
 * before parents. Notes are kept per trace, so a request costs a lookup or two rather than one per span,
 * and forgotten in generations (bounded memory): a child arriving after its trace's notes were forgotten
 * keeps its pruned parent's id, as a straggler arriving after its trace was analysed does anyway.
 */
export class InternalSpanPruner {
  /** Spans pruned since start. */
  pruned = 0;
  private current = new Map<string, TraceNotes>();
  private previous = new Map<string, TraceNotes>();
  /** The trace of the previous span and its notes (a request's spans end together). */
  private lastTraceId: string | undefined;
  private lastNotes: TraceNotes | undefined;

  private notesOf(traceId: string): TraceNotes | undefined {
    if (traceId === this.lastTraceId) return this.lastNotes;
    const notes = this.current.get(traceId) ?? this.previous.get(traceId);
    this.lastTraceId = traceId;
    this.lastNotes = notes;
    return notes;
  }

  private newNotes(traceId: string): TraceNotes {
    if (this.current.size >= TRACES_PER_GENERATION) {
      this.previous = this.current;
      this.current = new Map();
    }
    const notes: TraceNotes = { pruned: [], awaited: undefined, full: false };
    this.current.set(traceId, notes);
    this.lastTraceId = traceId;
    this.lastNotes = notes;
    return notes;
  }

  /** Whether to leave `span` out. Call for every span, in the order they end. */
  prune(span: FinishedSpan, traceId: string, spanId: string): boolean {
    return prunable(span) && this.pruneIds(traceId, spanId, (span.parentSpanContext as { spanId: string }).spanId);
  }

  /**
   * {@link prune} for a span {@link prunable} says may be left out, by its ids: false when a span kept so far
   * names it as its parent (or its trace is too big to follow).
   */
  pruneIds(traceId: string, spanId: string, parent: string): boolean {
    let notes = this.notesOf(traceId);
    if (notes === undefined) notes = this.newNotes(traceId);
    else if (notes.full || (notes.awaited !== undefined && indexOf(notes.awaited, spanId, 1) >= 0)) return false;
    const list = notes.pruned;
    if (list.length >= 2 * MAX_IDS_PER_TRACE) {
      notes.full = true;
      return false;
    }
    list.push(spanId, parent);
    this.pruned++;
    return true;
  }

  /** For a kept span: re-parents it past pruned spans and notes that its parent must be kept. */
  keep(mapped: Span, parentIsRemote: boolean | undefined): void {
    let parent = mapped.parentSpanId;
    // A remote parent ended in another process: it never comes here.
    if (parent === undefined || parentIsRemote === true) return;
    let notes = this.notesOf(mapped.traceId);
    if (notes === undefined) notes = this.newNotes(mapped.traceId);
    // Up the chain of pruned ancestors: a parent may have been pruned after its own child was (a handler
    // span that ended before a call made under its pruned helper). Bounded: a malformed cycle stops.
    const pruned = notes.pruned;
    for (let hops = 0, i = indexOf(pruned, parent, 2); i >= 0 && hops < pruned.length; hops += 2, i = indexOf(pruned, parent, 2)) {
      parent = pruned[i + 1];
    }
    mapped.parentSpanId = parent;
    if (notes.full) return;
    const awaited = (notes.awaited ??= []);
    if (indexOf(awaited, parent, 1) >= 0) return;
    if (awaited.length >= MAX_IDS_PER_TRACE) notes.full = true;
    else awaited.push(parent);
  }
}
