import { MAX_INSTANCES } from './limits.js';
import type { Span } from './types.js';

/** A process: when it started (−∞: one of its service's first fleet), and the latest span start seen of it. */
interface Process {
  started: number;
  seen: number;
}

/** One service's processes, when the service was first seen, and when its processes warming up are warm. */
interface Fleet {
  since: number;
  processes: Map<string, Process>;
  warming: number[];
}

/**
 * Processes of one service warming up at once, at most: restarts and new replicas come a few at a time. A
 * service whose processes come and go faster (a process per request, a crash loop) would never have a
 * warm trace, and a latency fault would go unjudged: its further new processes are taken as warm.
 */
const MAX_WARMING = 3;

/** A process not seen for this long (event time) is forgotten when the table is full: it has stopped. */
const GONE_MS = 3_600_000;

/**
 * When each process of a service started (event time, its earliest span start), so the recorder can leave
 * out the latency of a process's first seconds: a restart or a new replica is slow while it loads modules,
 * compiles and opens connections, and a central analyzer has no other way to know it started. Only a
 * process that appears once its service has been watched for the warm-up counts as started: those found
 * at first were running before the analyzer (or started with it; nothing was learned of them before).
 */
export class Instances {
  private readonly services = new Map<string, Fleet>();
  private count = 0;
  /** Spans of processes not tracked because {@link MAX_INSTANCES} were, none gone for {@link GONE_MS} (taken as warm). */
  untrackedSpans = 0;
  /** The last sighting: spans come in runs of one process (a batch per exporter). */
  private lastService: string | undefined;
  private lastFleet: Fleet | undefined;
  /** No span starting from this time on is cold: the latest end of a warm-up (−∞ while no process started). */
  private warmAfter = -Infinity;
  /** When the table, full, was last swept of processes gone (see {@link forgetGone}). */
  private sweptAt = -Infinity;

  constructor(private readonly warmupMs: number) {}

  /** Notes a span of `instance` of `service` starting at `start` (ms); no instance, nothing to note. */
  observe(service: string, instance: string | undefined, start: number): void {
    if (typeof instance !== 'string' || instance === '') return;
    let fleet = this.fleet(service);
    const known = fleet?.processes.get(instance);
    if (known !== undefined) {
      if (start > known.seen) known.seen = start;
      else if (start < known.started) this.started(known, start);
      if (start < (fleet as Fleet).since) (fleet as Fleet).since = start;
    } else {
      if (this.count >= MAX_INSTANCES) {
        if (!this.forgetGone(start)) {
          this.untrackedSpans++;
          return;
        }
        // The sweep may have removed this service's fleet.
        fleet = this.services.get(service);
      }
      if (fleet === undefined) {
        fleet = { since: start, processes: new Map(), warming: [] };
        this.services.set(service, fleet);
      }
      const p: Process = { started: -Infinity, seen: start };
      if (start >= fleet.since + this.warmupMs && this.mayWarm(fleet, start)) this.started(p, start);
      fleet.processes.set(instance, p);
      this.count++;
    }
    this.lastService = service;
    this.lastFleet = fleet;
  }

  /** Whether another process of `fleet` may be warming up at `at` (see {@link MAX_WARMING}); if so, it is. */
  private mayWarm(fleet: Fleet, at: number): boolean {
    const w = fleet.warming;
    for (let i = w.length - 1; i >= 0; i--) if (w[i] <= at) w.splice(i, 1);
    if (w.length >= MAX_WARMING) return false;
    w.push(at + this.warmupMs);
    return true;
  }

  private started(p: Process, at: number): void {
    p.started = at;
    if (at + this.warmupMs > this.warmAfter) this.warmAfter = at + this.warmupMs;
  }

  /**
   * Forgets the processes not seen for {@link GONE_MS} before `now`, at most once a minute of event time
   * (a full table of live processes is not swept for every new one): whether room was made.
   */
  private forgetGone(now: number): boolean {
    if (now - this.sweptAt < 60_000) return false;
    this.sweptAt = now;
    for (const [service, fleet] of this.services) {
      for (const [instance, p] of fleet.processes) {
        if (p.seen < now - GONE_MS) {
          fleet.processes.delete(instance);
          this.count--;
        }
      }
      if (fleet.processes.size === 0) this.services.delete(service);
    }
    this.lastService = undefined;
    this.lastFleet = undefined;
    return this.count < MAX_INSTANCES;
  }

  /** Whether any of `spans` started within its process's first `warmupMs` (spans naming no process never do). */
  anyCold(spans: readonly Span[]): boolean {
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i];
      const instance = s.instance;
      if (s.startTime >= this.warmAfter || typeof instance !== 'string') continue;
      const p = this.fleet(s.service)?.processes.get(instance);
      if (p !== undefined && s.startTime < p.started + this.warmupMs) return true;
    }
    return false;
  }

  /** The latest start, at or after `from`, of a process of `service` that started while it was watched (not one of its first fleet). */
  startedSince(service: string, from: number): number | undefined {
    let latest: number | undefined;
    const fleet = this.services.get(service);
    if (fleet !== undefined) for (const p of fleet.processes.values()) if (p.started >= from && (latest === undefined || p.started > latest)) latest = p.started;
    return latest;
  }

  /** How many processes of `service` are tracked (seen, not yet forgotten), of them those with spans starting from `since` on. */
  processes(service: string, since = -Infinity): number {
    const fleet = this.services.get(service);
    if (fleet === undefined) return 0;
    if (since === -Infinity) return fleet.processes.size;
    let n = 0;
    for (const p of fleet.processes.values()) if (p.seen >= since) n++;
    return n;
  }

  private fleet(service: string): Fleet | undefined {
    return this.lastService === service ? this.lastFleet : this.services.get(service);
  }

  /** Processes tracked. */
  get size(): number {
    return this.count;
  }
}
