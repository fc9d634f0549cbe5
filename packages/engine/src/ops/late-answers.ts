/** Late answers kept per process: a few seconds' worth while it is saturated. */
const SAMPLES = 32;

/** Scratch for {@link LateAnswers.worst}'s median. */
const waits = new Float64Array(SAMPLES);
/** Seconds of late answers counted (see {@link LateAnswers.worst}): longer than a window of three buckets. */
const COUNTED_S = 128;
/**
 * An answer read this much (ms) beyond the network's allowance after its callee's span ended counts toward
 * {@link AnswerLag}'s share: a loop held by CPU work reads most answers tens of ms late, a GC pause now and
 * then only one.
 */
const READ_LATE_MS = 20;
/** Answered calls the share of those read late is taken over, at least. */
const READS_LATE_MIN_CALLS = 10;

/**
 * A process's recent waits to be read: its calls answered late (each ended `LOOP_MIN_SHIFT_MS` or more after
 * its callee's own span did), or, kept apart, its requests read late (each began that much after its caller
 * made the call). Without event-loop samples (a central view), this is what shows a process too busy to
 * read: a NestJS service burning 200 ms of CPU per request ended its 4 ms calls to an instrumented callee
 * after 210 ms, and every PostgreSQL statement it ran looked slow as well. One peer answered (or calling)
 * late may be that peer's network, so a call is only matched with the waits of other peers.
 */
export class LateAnswers {
  private readonly from = new Float64Array(SAMPLES);
  private readonly to = new Float64Array(SAMPLES);
  private readonly peer: string[] = new Array<string>(SAMPLES).fill('');
  private readonly peerKey: string[] = new Array<string>(SAMPLES).fill('');
  private next = 0;
  /** Late answers per second of their end (the second in `seconds`), beyond the samples kept. */
  private readonly counts = new Float64Array(COUNTED_S);
  private readonly seconds = new Float64Array(COUNTED_S).fill(-1);

  /**
   * A wait to be read from `from` to `to`: an answer of `peer` (its operation `peerKey`), from when the
   * callee's span ended to when the call did; or a request of `peer`'s (the calling operation `peerKey`),
   * from when the call was made to when the request began.
   */
  note(peer: string, peerKey: string, from: number, to: number): void {
    this.from[this.next] = from;
    this.to[this.next] = to;
    this.peer[this.next] = peer;
    this.peerKey[this.next] = peerKey;
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
   * The waits that ended from `since` on (to the second): the longest among those kept, its peer
   * operation's key, the median wait, and how many there were (`atLeast`: counted over the last
   * {@link COUNTED_S} s only, so maybe more).
   */
  worst(since: number): { peerKey: string; ms: number; median: number; calls: number; atLeast: boolean } | undefined {
    let best = -1;
    let kept = 0;
    for (let i = 0; i < SAMPLES; i++) {
      if (this.peer[i] === '' || this.to[i] < since) continue;
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
    return { peerKey: this.peerKey[best], ms: this.to[best] - this.from[best], median, calls, atLeast: latest - first >= COUNTED_S };
  }

  /**
   * The longest wait of peers other than `peer` within `nearMs` of `start`..`end`: a saturated process
   * reads late whatever comes while it works, but only what straddles a stretch of its work shows it, so a
   * late answer (or request) nearby stands for the stretches in between.
   */
  longest(start: number, end: number, peer: string, nearMs: number): number {
    let most = 0;
    for (let i = 0; i < SAMPLES; i++) {
      const c = this.peer[i];
      if (c === '' || c === peer || this.to[i] < start - nearMs || this.from[i] > end + nearMs) continue;
      const wait = this.to[i] - this.from[i];
      if (wait > most) most = wait;
    }
    return most;
  }
}

/** {@link AnswerLag}'s slots: 5 s each, 640 s in all (an incident's windows, back to its first anomaly's). */
const LAG_SLOT_MS = 5000;
const LAG_SLOTS = 128;

/**
 * A process's answered calls per 5 s, and how many of them it read {@link READ_LATE_MS} or more late (the
 * last 640 s). Without loop samples, a held loop shows in the share: its calls' answers wait to be read,
 * whatever the callee.
 */
export class AnswerLag {
  private readonly answered = new Uint32Array(LAG_SLOTS);
  private readonly late = new Uint32Array(LAG_SLOTS);
  private readonly slots = new Float64Array(LAG_SLOTS).fill(-1);

  /** A call answered at `at`, read `lateMs` after its callee's span ended (beyond the network's allowance). */
  note(at: number, lateMs: number): void {
    const n = Math.floor(at / LAG_SLOT_MS);
    const slot = n % LAG_SLOTS;
    if (this.slots[slot] !== n) {
      if (n < this.slots[slot]) return;
      this.slots[slot] = n;
      this.answered[slot] = 0;
      this.late[slot] = 0;
    }
    this.answered[slot]++;
    if (lateMs >= READ_LATE_MS) this.late[slot]++;
  }

  /**
   * The share of the calls answered from `since` to `until` read {@link READ_LATE_MS} or more late; 0 over
   * fewer than {@link READS_LATE_MIN_CALLS} calls.
   */
  lateShare(since: number, until: number): number {
    const first = Math.floor(since / LAG_SLOT_MS);
    const last = Math.floor(until / LAG_SLOT_MS);
    let answered = 0;
    let late = 0;
    for (let i = 0; i < LAG_SLOTS; i++) {
      const n = this.slots[i];
      if (n < first || n > last) continue;
      answered += this.answered[i];
      late += this.late[i];
    }
    return answered >= READS_LATE_MIN_CALLS ? late / answered : 0;
  }
}
