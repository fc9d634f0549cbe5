import { MAX_FUTURE_SKEW_MS, type Analyzer, type AnalyzerStats, type DropCounters, type Span } from '@rootspan/engine';
import { EXPORT_HOLD_MS, EndTimeWindow } from '@rootspan/otlp';

/** Options of the intake queue (see {@link ServerOptions}). */
export interface IntakeOptions {
  /** Spans held or waiting at once; a request that would go beyond is refused (429). */
  maxQueuedSpans: number;
  /** How long after a span ends it is held before analysis, in ms, or `auto` to learn it from arrival lag. */
  traceWaitMs: number | 'auto';
}

/** Spans handed to the analyzer per event-loop turn: one turn stays short (a few ms) whatever the request size. */
const CHUNK = 2000;
/** Trace wait before anything is learned: the SDK BatchSpanProcessor's 5 s delay plus the export itself. */
const INITIAL_WAIT_MS = EXPORT_HOLD_MS;
/** Learned waits stay within these bounds (the engine waits at most `maxTraceWaitMs` for a trace anyway). */
const MIN_WAIT_MS = 1000;
const MAX_WAIT_MS = 30_000;
/** Added to the learned lag: an export's own duration varies. */
const WAIT_MARGIN_MS = 500;
/** Batches whose newest span ended longer ago than this on arrival are a replay (or a late backlog), not live traffic. */
const LIVE_LAG_MS = 60_000;
/** Arrival lags remembered for learning the wait (one per request). */
const LAG_SAMPLES = 512;
/**
 * A pause of this process this long (ms: no tick for that long, or one tick or analyzer turn that took that
 * long: a blocked analyzer, a long GC) is a stall. The requests that queued up behind it arrive with its
 * length as lag, which says nothing of the exporters: lags are not learned for as long again after it.
 */
const STALL_MS = 2000;

/** One request's spans, sorted by end time; `next` is the first not yet released. */
interface Batch {
  spans: Span[];
  next: number;
  arrival: number;
  seq: number;
}

/**
 * When a span's wait starts: its end time, or its arrival if it claims to end later (a client clock running
 * ahead): such spans are held for the trace wait from arrival instead of indefinitely.
 */
const startOfWait = (b: Batch): number => Math.min(b.spans[b.next].endTime, b.arrival);

/**
 * Between the receiver and the analyzer. Spans of one trace come from several services' exporters, each
 * sending every few seconds (the SDK's BatchSpanProcessor waits up to 5 s): the intake holds each span
 * until the wall clock is past its end time plus the *trace wait*, and releases held spans merged in
 * end-time order, so the analyzer receives a trace's spans together whichever exporter sent them when. The wait is learned from the arrival lag (a high
 * quantile of "received minus oldest span end" over recent requests) unless configured. Recorded data
 * (spans that ended long ago) is not held on the wall clock: posting a file fast feeds the analyzer as
 * `rootspan analyze` reads it, merged in end-time order over an export period of the data's own event time.
 *
 * Memory is bounded by `maxQueuedSpans`; work per event-loop turn by {@link CHUNK}.
 */
export class Intake {
  private readonly held: Batch[] = [];
  private readonly ready: Span[][] = [];
  private readyOffset = 0;
  private queuedSpans = 0;
  private seq = 0;
  private pumping = false;
  private readonly lags: number[] = [];
  private lagIndex = 0;
  private learnedWait = INITIAL_WAIT_MS;
  private lastFreshAt = -Infinity;
  private lastTickEnd: number | undefined;
  /** Arrival lags are learned from this time on (later than now right after a stall). */
  private learnLagsFrom = -Infinity;
  /**
   * Recorded data, merged in end-time order over an export period of its own event time (as
   * `rootspan analyze` reads a JSONL file): the exporters' batches of one trace were recorded apart.
   */
  private readonly recorded: EndTimeWindow;
  /** Wall-clock time recorded data last arrived: its window's tail goes on once nothing followed for the trace wait. */
  private lastRecordedAt = -Infinity;
  /** Whether spans are arriving live (then event time also follows the wall clock). */
  live = false;
  /** Counters, for status and /metrics (what became of the spans taken: see {@link analyzed}). */
  readonly counters = { received: 0, queueFullRequests: 0, queueFullSpans: 0 };
  /** The analyzer's counters when this intake started: restored from a snapshot, they count an earlier process's spans. */
  private readonly start: Pick<AnalyzerStats, 'accepted' | 'droppedBy'>;

  constructor(
    private readonly analyzer: Analyzer,
    private readonly options: IntakeOptions,
    private readonly now: () => number,
  ) {
    this.recorded = new EndTimeWindow(options.maxQueuedSpans, (spans) => this.ready.push(spans), EXPORT_HOLD_MS);
    this.start = analyzer.stats();
  }

  /**
   * What the analyzer made of the spans this intake gave it, from its own counters (`stats`: its `stats()`),
   * since this intake started. Not summed from `ingest` results: each is its call's alone, and a later call
   * may take spans an earlier one reported dropped (a replay's run of spans far ahead, once it moves event time).
   */
  analyzed(stats: AnalyzerStats): { accepted: number; droppedBy: DropCounters } {
    const droppedBy = { ...stats.droppedBy };
    for (const reason of Object.keys(droppedBy) as Array<keyof DropCounters>) droppedBy[reason] -= this.start.droppedBy[reason];
    return { accepted: stats.accepted - this.start.accepted, droppedBy };
  }

  /** Spans held or waiting for the analyzer. */
  get queued(): number {
    return this.queuedSpans;
  }

  get capacity(): number {
    return this.options.maxQueuedSpans;
  }

  /** The trace wait in force, ms. */
  get traceWaitMs(): number {
    return this.options.traceWaitMs === 'auto' ? this.learnedWait : this.options.traceWaitMs;
  }

  /** Queues one request's spans; false (nothing taken) when the queue has no room for all of them. */
  offer(spans: Span[]): boolean {
    if (spans.length === 0) return true;
    if (this.queuedSpans + spans.length > this.options.maxQueuedSpans) {
      this.counters.queueFullRequests++;
      this.counters.queueFullSpans += spans.length;
      return false;
    }
    this.counters.received += spans.length;
    this.queuedSpans += spans.length;
    const now = this.now();
    let oldest = Infinity;
    let newest = -Infinity;
    // A span further ahead than any clock skew is dropped as `future` by the analyzer: it is no sign of live
    // traffic (one such span in a replay would turn it live, and the replay's next spans late).
    const ahead = now + MAX_FUTURE_SKEW_MS;
    for (const s of spans) {
      if (s.endTime < oldest) oldest = s.endTime;
      if (s.endTime > newest && s.endTime <= ahead) newest = s.endTime;
    }
    if (now - newest <= LIVE_LAG_MS) {
      this.live = true;
      this.lastFreshAt = now;
      if (now >= this.learnLagsFrom) this.learnLag(now - oldest);
    } else if (now - this.lastFreshAt > LIVE_LAG_MS) {
      this.live = false;
    }
    // Recorded data goes to the analyzer as `rootspan analyze` reads a JSONL file: merged in end-time order
    // over an export period of its own event time. Live spans are held for the trace wait, and released
    // merged in end-time order: OTLP groups a request's spans by resource and scope, so each request is
    // put in end-time order first.
    if (Math.min(newest, now) + this.traceWaitMs <= now) {
      this.recorded.push(spans);
      this.lastRecordedAt = now;
    } else this.hold({ spans: spans.sort(byEnd), next: 0, arrival: now, seq: this.seq++ });
    this.schedule();
    return true;
  }

  /** Moves batches whose wait is over to the analyzer (and, when live, event time to the wall clock minus the wait). */
  tick(): void {
    const now = this.now();
    if (this.lastTickEnd !== undefined) this.noteStall(this.lastTickEnd, now);
    if (this.options.traceWaitMs === 'auto') this.learnedWait = this.learnWait();
    // A recording's last export period has no later data to release it: it goes on once none came for the trace wait.
    if (now - this.lastRecordedAt >= this.traceWaitMs) this.recorded.flush();
    this.releaseDue(now);
    this.pump(Infinity);
    if (this.live) this.analyzer.advanceTo(now - this.traceWaitMs);
    this.lastTickEnd = this.now();
    this.noteStall(now, this.lastTickEnd);
  }

  /** Everything queued to the analyzer now, synchronously (`POST /aiops/analyze`, shutdown). */
  releaseAll(): void {
    this.recorded.flush();
    this.releaseDue(Infinity);
    this.pump(Infinity);
  }

  /** When `from` → `to` was a stall, stops learning lags for as long again (at most the longest wait). */
  private noteStall(from: number, to: number): void {
    const pause = to - from;
    if (pause >= STALL_MS) this.learnLagsFrom = Math.max(this.learnLagsFrom, to + Math.min(pause, MAX_WAIT_MS));
  }

  private learnLag(lag: number): void {
    if (lag < 0 || lag > MAX_WAIT_MS) return;
    if (this.lags.length < LAG_SAMPLES) this.lags.push(lag);
    else this.lags[this.lagIndex] = lag;
    this.lagIndex = (this.lagIndex + 1) % LAG_SAMPLES;
  }

  /** The 99th percentile of recent arrival lags plus a margin, within bounds; the initial wait until there are samples. */
  private learnWait(): number {
    if (this.lags.length === 0) return INITIAL_WAIT_MS;
    const sorted = [...this.lags].sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
    return Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, p99 + WAIT_MARGIN_MS));
  }

  // ---- held batches: a binary min-heap on (the next span's start of wait, arrival order): a k-way merge ----

  private hold(batch: Batch): void {
    const h = this.held;
    h.push(batch);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  /** Releases, in end-time order, every held span whose wait ended by `now`. */
  private releaseDue(now: number): void {
    const h = this.held;
    const due = now - this.traceWaitMs;
    const out: Span[] = [];
    while (h.length > 0 && startOfWait(h[0]) <= due) {
      const top = h[0];
      const from = top.next;
      // Take the run of this batch that is due and ends no later than the next batch's first span.
      const limit = h.length > 1 ? Math.min(due, startOfWait(this.smallerChild(0))) : due;
      do top.next++;
      while (top.next < top.spans.length && startOfWait(top) <= limit);
      for (let i = from; i < top.next; i++) out.push(top.spans[i]);
      if (top.next === top.spans.length) {
        const last = h.pop() as Batch;
        if (h.length === 0) break;
        h[0] = last;
      }
      this.siftDown(0);
    }
    if (out.length > 0) this.ready.push(out);
  }

  private smallerChild(i: number): Batch {
    const h = this.held;
    const l = 2 * i + 1;
    return l + 1 < h.length && before(h[l + 1], h[l]) ? h[l + 1] : h[l];
  }

  private siftDown(i: number): void {
    const h = this.held;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l], h[m])) m = l;
      if (r < h.length && before(h[r], h[m])) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }

  // ---- ready batches: fed to the analyzer a chunk per event-loop turn ----

  private schedule(): void {
    if (this.pumping || this.ready.length === 0) return;
    this.pumping = true;
    setImmediate(() => {
      this.pumping = false;
      const start = this.now();
      this.pump(CHUNK);
      this.noteStall(start, this.now());
      this.schedule();
    });
  }

  private pump(budget: number): void {
    while (budget > 0 && this.ready.length > 0) {
      const batch = this.ready[0];
      const take = Math.min(budget, batch.length - this.readyOffset);
      const part = take === batch.length ? batch : batch.slice(this.readyOffset, this.readyOffset + take);
      this.analyzer.ingest(part);
      this.queuedSpans -= take;
      budget -= take;
      this.readyOffset += take;
      if (this.readyOffset === batch.length) {
        this.ready.shift();
        this.readyOffset = 0;
      }
    }
  }
}

const byEnd = (a: Span, b: Span) => a.endTime - b.endTime;

function before(a: Batch, b: Batch): boolean {
  const ka = startOfWait(a);
  const kb = startOfWait(b);
  return ka < kb || (ka === kb && a.seq < b.seq);
}
