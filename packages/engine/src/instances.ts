import { MAX_INSTANCES } from './limits.js';
import type { Span } from './types.js';

/** One service's processes: when the service was first seen, and when each process was (−∞: from the start). */
interface Fleet {
  since: number;
  started: Map<string, number>;
}

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
  /** Processes not tracked because {@link MAX_INSTANCES} were. */
  untracked = 0;
  /** The last sighting: spans come in runs of one process (a batch per exporter). */
  private lastService: string | undefined;
  private lastFleet: Fleet | undefined;
  /** No span starting from this time on is cold: the latest end of a warm-up (−∞ while no process started). */
  private warmAfter = -Infinity;

  constructor(private readonly warmupMs: number) {}

  /** Notes a span of `instance` of `service` starting at `start` (ms); no instance, nothing to note. */
  observe(service: string, instance: string | undefined, start: number): void {
    if (typeof instance !== 'string' || instance === '') return;
    let fleet = this.fleet(service);
    const started = fleet?.started.get(instance);
    if (started !== undefined) {
      if (start < started) this.setStart(fleet as Fleet, instance, start);
      if (start < (fleet as Fleet).since) (fleet as Fleet).since = start;
    } else {
      if (this.count >= MAX_INSTANCES) {
        this.untracked++;
        return;
      }
      if (fleet === undefined) {
        fleet = { since: start, started: new Map() };
        this.services.set(service, fleet);
      }
      this.setStart(fleet, instance, start < fleet.since + this.warmupMs ? -Infinity : start);
      this.count++;
    }
    this.lastService = service;
    this.lastFleet = fleet;
  }

  private setStart(fleet: Fleet, instance: string, at: number): void {
    fleet.started.set(instance, at);
    if (at + this.warmupMs > this.warmAfter) this.warmAfter = at + this.warmupMs;
  }

  /** Whether any of `spans` started within its process's first `warmupMs` (spans naming no process never do). */
  anyCold(spans: readonly Span[]): boolean {
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i];
      const instance = s.instance;
      if (s.startTime >= this.warmAfter || typeof instance !== 'string') continue;
      const started = this.fleet(s.service)?.started.get(instance);
      if (started !== undefined && s.startTime < started + this.warmupMs) return true;
    }
    return false;
  }

  /** The latest start, at or after `from`, of a process of `service` that started while it was watched (not one of its first fleet). */
  startedSince(service: string, from: number): number | undefined {
    let latest: number | undefined;
    const fleet = this.services.get(service);
    if (fleet !== undefined) for (const at of fleet.started.values()) if (at >= from && (latest === undefined || at > latest)) latest = at;
    return latest;
  }

  private fleet(service: string): Fleet | undefined {
    return this.lastService === service ? this.lastFleet : this.services.get(service);
  }

  /** Processes tracked. */
  get size(): number {
    return this.count;
  }
}
