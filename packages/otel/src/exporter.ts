import type { Analyzer, Span } from '@rootspan/engine';
import { AnalyzerFeed } from './feed.js';
import { toEngineSpan } from './map.js';
import { EXPORTER_KEYS, splitOptions, type RootspanExporterOptions } from './options.js';
import type { PeerNames } from './peers.js';
import { InternalSpanPruner } from './prune.js';
import type { RootspanStats } from './processor.js';
import { ExportResultCode, type ExportResult, type FinishedSpan, type SpanExporter } from './sdk.js';

/**
 * A SpanExporter that ingests spans into a rootspan analyzer, for setups that want rootspan behind
 * their own `BatchSpanProcessor` (batching, sampling, or a `MultiSpanExporter`) instead of the
 * {@link RootspanSpanProcessor}. Export always succeeds: analysis problems are counted in
 * {@link RootspanSpanExporter.stats}, never reported as export failures that a processor would retry or log.
 *
 * Its live clock runs `clockLagMs` behind the wall clock, because a BatchSpanProcessor delivers spans
 * seconds after they end.
 *
 * @example
 * new NodeSDK({ spanProcessors: [new BatchSpanProcessor(new RootspanSpanExporter({ onIncident }))] });
 */
export class RootspanSpanExporter implements SpanExporter {
  /** The analyzer spans are fed into. */
  readonly analyzer: Analyzer;
  private readonly feed: AnalyzerFeed;
  private readonly tickMs: number;
  private readonly clockLagMs: number;
  private readonly peers: PeerNames | undefined;
  private readonly pruner = new InternalSpanPruner();
  private closed = false;
  private closing: Promise<void> = Promise.resolve();

  /** @throws TypeError naming the bad option (the only time rootspan throws). */
  constructor(options: RootspanExporterOptions = {}) {
    const { own, analyzerOptions } = splitOptions(options, EXPORTER_KEYS);
    this.feed = new AnalyzerFeed(own, analyzerOptions, 'span exporter');
    this.analyzer = this.feed.analyzer;
    this.tickMs = own.tickMs;
    this.clockLagMs = own.clockLagMs;
    this.peers = own.peers;
  }

  /** Converts and ingests the batch, then reports SUCCESS (FAILED only after shutdown, per the SDK contract). */
  export(spans: FinishedSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.closed) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('rootspan: exporter is shut down') });
      return;
    }
    try {
      const mapped: Span[] = [];
      const remote: boolean[] = [];
      // A BatchSpanProcessor hands spans over in the order they ended, as the processor sees them. The whole
      // batch is pruned before any span of it is re-parented: a parent that ended after its child in the same
      // batch (nested middleware) is pruned too.
      for (let i = 0; i < spans.length; i++) {
        const span = spans[i];
        const ctx = span.spanContext();
        if (ctx?.traceId && ctx.spanId && this.pruner.prune(span, ctx.traceId, ctx.spanId)) continue;
        const s = toEngineSpan(span, this.peers);
        if (s === undefined) continue;
        mapped.push(s);
        remote.push(span.parentSpanContext?.isRemote === true);
      }
      for (let i = 0; i < mapped.length; i++) this.pruner.keep(mapped[i], remote[i]);
      this.feed.ingest(mapped);
      if (!this.feed.clockRunning) {
        this.feed.startClock(this.tickMs, () => this.feed.advanceTo(Date.now() - this.clockLagMs));
      }
    } catch (err) {
      this.feed.internalError('export', err);
    }
    // Outside the try: an exception from the caller's callback is the caller's, and it must run exactly once.
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  /** Spans are ingested during `export`: resolves once the callback calls they caused have run. */
  forceFlush(): Promise<void> {
    return this.feed.callbacksIdle();
  }

  /** Stops the clock, lets the analyzer finish (`analyzer.flush()`), detaches callbacks and closes the store. Idempotent. */
  shutdown(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.feed.stopClock();
      this.feed.flush();
      this.feed.detach();
      this.closing = this.feed.callbacksIdle().then(() => this.feed.closeStore());
    }
    return this.closing;
  }

  /** rootspan's own counters plus the analyzer's (`queued` and `dropped` are always 0: there is no queue). */
  stats(): RootspanStats {
    return { queued: 0, dropped: 0, pruned: this.pruner.pruned, ...this.feed.stats(), analyzer: this.analyzer.stats() };
  }
}
