/** Late answers kept per process: a few seconds' worth while it is saturated. */
const SAMPLES = 32;

/** Scratch for {@link LateAnswers.worst}'s median. */
const waits = new Float64Array(SAMPLES);
/** Seconds of late answers counted (see {@link LateAnswers.worst}): longer than a window of three buckets. */
const COUNTED_S = 128;

/**
 * A process's recent calls answered late: each ended `LOOP_MIN_SHIFT_MS` or more after its callee's own
 * span did. Without event-loop samples (a central view), this is what shows a process too busy to read
 * its answers: a NestJS service burning 200 ms of CPU per request ended its 4 ms calls to an instrumented
 * callee after 210 ms, and every PostgreSQL statement it ran looked slow as well. One callee answered late
 * may be that callee's network, so a call is only matched with the late answers of other callees.
 */
export class LateAnswers {
  private readonly from = new Float64Array(SAMPLES);
  private readonly to = new Float64Array(SAMPLES);
  private readonly callee: string[] = new Array<string>(SAMPLES).fill('');
  private readonly calleeKey: string[] = new Array<string>(SAMPLES).fill('');
  private next = 0;
  /** Late answers per second of their end (the second in `seconds`), beyond the samples kept. */
  private readonly counts = new Float64Array(COUNTED_S);
  private readonly seconds = new Float64Array(COUNTED_S).fill(-1);

  /** A call to `callee` (operation `calleeKey`) whose answer waited from `from` (its callee's span ended) to `to` (the call ended). */
  note(callee: string, calleeKey: string, from: number, to: number): void {
    this.from[this.next] = from;
    this.to[this.next] = to;
    this.callee[this.next] = callee;
    this.calleeKey[this.next] = calleeKey;
    this.next = (this.next + 1) % SAMPLES;
    const second = Math.floor(to / 1000);
    const slot = second % COUNTED_S;
    if (this.seconds[slot] !== second) {
      this.seconds[slot] = second;
      this.counts[slot] = 0;
    }
    this.counts[slot]++;
  }

  /**
   * The late answers that ended from `since` on (to the second): the longest wait among those kept, its
   * callee operation's key, the median wait, and how many there were (`atLeast`: counted over the last
   * {@link COUNTED_S} s only, so maybe more).
   */
  worst(since: number): { calleeKey: string; ms: number; median: number; calls: number; atLeast: boolean } | undefined {
    let best = -1;
    let kept = 0;
    for (let i = 0; i < SAMPLES; i++) {
      if (this.callee[i] === '' || this.to[i] < since) continue;
      waits[kept++] = this.to[i] - this.from[i];
      if (best < 0 || this.to[i] - this.from[i] > this.to[best] - this.from[best]) best = i;
    }
    if (best < 0) return undefined;
    const first = Math.floor(since / 1000);
    let calls = 0;
    let latest = -1;
    for (let i = 0; i < COUNTED_S; i++) {
      if (this.seconds[i] > latest) latest = this.seconds[i];
      if (this.seconds[i] >= first) calls += this.counts[i];
    }
    const median = waits.subarray(0, kept).sort()[kept >> 1];
    return { calleeKey: this.calleeKey[best], ms: this.to[best] - this.from[best], median, calls, atLeast: latest - first >= COUNTED_S };
  }

  /**
   * The longest wait of the late answers of callees other than `callee` within `nearMs` of `start`..`end`:
   * a saturated process reads late whatever answers while it works, but only the calls that straddle a
   * stretch of its work show it, so a late answer nearby stands for the stretches in between.
   */
  longest(start: number, end: number, callee: string, nearMs: number): number {
    let most = 0;
    for (let i = 0; i < SAMPLES; i++) {
      const c = this.callee[i];
      if (c === '' || c === callee || this.to[i] < start - nearMs || this.from[i] > end + nearMs) continue;
      const wait = this.to[i] - this.from[i];
      if (wait > most) most = wait;
    }
    return most;
  }
}
