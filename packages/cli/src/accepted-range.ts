import type { Analyzer, Span } from '@rootspan/engine';

/**
 * The time the analysis covers: the earliest start and latest end of the spans the analyzer took. One span
 * it dropped (a clock in 2262, a late one from 1970) would otherwise stretch a report's "over 3 min" to
 * centuries.
 *
 * The analyzer says how many spans of a call it took, not which. A span that would move `from` back is
 * therefore fed alone (in a run of spans in end-time order they are few: the first, and each one starting
 * earlier than all before it), and the runs between them together, in the same order: the engine's
 * results do not depend on how spans are batched. A run's end is taken whole when nothing of it was
 * dropped, else up to the analyzer's event time, which no span it took ends after.
 */
export class AcceptedRange {
  /** Earliest start, latest end (epoch ms); Infinity and -Infinity until a span is taken. */
  private from = Infinity;
  private to = -Infinity;

  /** Feeds `spans` to `analyzer`, in their order, widening the range by those it takes. */
  ingest(analyzer: Analyzer, spans: readonly Span[]): void {
    let runStart = 0;
    let runEnd = -Infinity;
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i];
      if (s.startTime >= this.from) {
        if (s.endTime > runEnd) runEnd = s.endTime;
        continue;
      }
      this.run(analyzer, spans, runStart, i, runEnd);
      if (analyzer.ingest(s).accepted > 0) {
        this.from = s.startTime;
        if (s.endTime > this.to) this.to = s.endTime;
      }
      runStart = i + 1;
      runEnd = -Infinity;
    }
    this.run(analyzer, spans, runStart, spans.length, runEnd);
  }

  /** `[from, to]`, or nulls while no span was taken. */
  bounds(): { from: number | null; to: number | null } {
    return this.from === Infinity ? { from: null, to: null } : { from: this.from, to: this.to };
  }

  /** Feeds `spans[start, end)`, whose latest end is `runEnd`. */
  private run(analyzer: Analyzer, spans: readonly Span[], start: number, end: number, runEnd: number): void {
    if (start === end) return;
    const result = analyzer.ingest(start === 0 && end === spans.length ? spans : spans.slice(start, end));
    if (result.accepted === 0) return;
    const taken = result.dropped === 0 ? runEnd : Math.min(runEnd, analyzer.now() ?? runEnd);
    if (taken > this.to) this.to = taken;
  }
}
