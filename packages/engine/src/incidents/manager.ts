import type {
  Anomaly,
  AnomalyKind,
  Candidate,
  Incident,
  IncidentEvent,
  IncidentFilter,
  IncidentNote,
  IncidentsSnapshot,
  OperationRef,
  RankedOrigin,
  IncidentStoryEntry,
  RootCause,
  Severity,
} from '../types.js';
import { INCIDENT_STORY_MAX } from '../types.js';
import { incidentHeadKey, opKey, opKeyOperation, opKeyService, symptomKey } from '../keys.js';
import { EVENT_LOOP_OPERATION } from '../model/loop.js';
import { isPoolWait } from '../model/operation.js';
import { originAt } from '../rca/attribute.js';
import { datedTo, label } from '../rca/format.js';
import { SEVERITY_RANK } from './severity.js';
import { IN_FLIGHT_MIN_MS } from '../detectors/inflight.js';

/**
 * Statements of a peer whose evidence began this long (ms) after its first hang's (calls given up on, or
 * pool waits) did not cause it (see {@link Score.settle}): the judge's middle window.
 */
const AFTERMATH_MS = 15_000;
/** Shortest window a request rate is taken over (an anomaly's window is at least a bucket long). */
const MIN_WINDOW_MS = 1000;
/**
 * How much more evidence another of a peer's operations needs than the one an incident names to take the
 * name without more requests behind it (see {@link outweighs}), and another kind than the one it names (see
 * {@link KindTally.best}): evidence that runs neck and neck (a peer's commands, a hang's timeouts and the
 * late answers once it ends) would retitle the incident, and notify again, at each lead change.
 */
const RENAME_MARGIN = 1.5;
/**
 * How long (ms of event time) after an incident's kind changed the kind it replaced cannot come back. Requests
 * that sit at their client's timeout alternate between phases where all are given up on and phases where
 * most are answered late, each with far more evidence than the other: no margin on evidence holds that, and
 * the title flipped between "Latency in" and "Timeouts in" every 15–20 s, notifying each time. The first
 * change still shows at once; only a flip back waits.
 */
const FLIP_BACK_MS = 60_000;

/**
 * An incident's fault counts as going on (see IncidentManager.faultGoing) while one of its episodes showed it
 * this recently in its own requests: a fault that lets up a few seconds (a 1 s stall every 5 s, errors of a
 * rare call) is still on.
 */
const SEEN_WITHIN_MS = 20_000;

/** Builds the root-cause sentence (and deploy correlation) for the chosen candidate. */
export type ExplainRoot = (
  top: RankedOrigin,
  anomalies: readonly Anomaly[],
) => Pick<RootCause, 'explanation' | 'change'>;

interface Record_ {
  incident: Incident;
  anomalies: Map<string, Anomaly>;
  origins: Map<string, RankedOrigin[]>;
  active: Set<string>;
  /** Each member's symptom key (see {@link symptomKey}), and how many members share each symptom. */
  symptomOf: Map<string, string>;
  symptoms: Map<string, number>;
  /** Event time an anomaly last fired. */
  lastFiredAt: number;
  /**
   * Event time the latest bucket of one of its episodes' own requests still showed the fault (see
   * {@link IncidentManager.faultSeen}): windows fire for up to a minute after a fault ends, so an incident
   * may be going with its fault long over.
   */
  seenAt: number;
  /** Event time a failure (any anomaly but a traffic drop) last fired; undefined if none is a member. */
  lastFailedAt?: number;
  /**
   * The root-cause operation (key) and kind as listeners were last told; undefined before that (opened in the
   * routing in progress, or restored). What the name and the kind hold on to (see {@link RENAME_MARGIN}):
   * not the states a bucket's routing passes through, one firing at a time, before its one event. `since`
   * is when the kind was first told for this operation, and `was` the kind it replaced there, if any (see
   * {@link FLIP_BACK_MS}).
   */
  told?: Told;
  /** The root the latest recompute picked, in the bucket ending at `at` (see {@link IncidentManager.held}). */
  pick?: { key: string; kind: AnomalyKind; at: number };
  /** Another operation or kind of the told root's service, the pick at the end of each bucket since `since`. */
  pending?: { key: string; kind: AnomalyKind; since: number };
}

interface Told {
  key: string;
  kind: AnomalyKind;
  since: number;
  was: AnomalyKind | undefined;
}

export interface IncidentManagerOptions {
  resolveAfterMs: number;
  maxExemplars: number;
  /** How close (ms of event time) two onsets must be to count as one fault's (see findLinked). */
  coincideMs: number;
  /**
   * How long (ms) evidence of a fault can keep arriving after it last fired: the detection windows, and
   * traces held for missing spans. A symptom firing that soon after is still part of the incident (see
   * findCascade), and reopens it if it resolved by itself meanwhile (see reopen).
   */
  echoMs: number;
  /**
   * How long (ms of event time) another operation or kind of the service an incident names must stay the
   * pick before the incident is retitled after it (see {@link IncidentManager.held}). A pool filled by one
   * route's transactions spreads its evidence over every statement and the pool's waits, and the pick moved
   * between them bucket by bucket: one fault was retitled eight times in four minutes, each a notification.
   * A root in another service (a cascade's origin found) is named at once.
   */
  renameHoldMs: number;
  /** What the manager knows of the call graph, for symptoms no trace links to their cause. */
  topology: Topology;
}

/** The call graph as the incident manager sees it, by service name. */
export interface Topology {
  /**
   * The instrumented services a root-cause service runs in: itself for a service, its callers' services for
   * an uninstrumented peer (a database is part of the services that call it).
   */
  homes(service: string): ReadonlySet<string>;
  /** The services (and peers) `service` calls. */
  callees(service: string): ReadonlySet<string>;
  /** The services whose operations call operation `key`. */
  callers(key: string): ReadonlySet<string>;
  /** Whether `service`'s event loop is sampled (in its own process: the plugin's `event loop` operation). */
  samplesLoop(service: string): boolean;
  /** The share of `service`'s calls (its loop not sampled) answered from `from` to `to` that it read late (a loop held). */
  lateShare(service: string, from: number, to: number): number;
  /** Whether operation `key` is a peer's: seen only through the calls that reach it. */
  isPeer(key: string): boolean;
  /**
   * The statement (operation key) of `service`'s longest call that held a connection for seconds and ended
   * from `since` on, if any: the backlog it let through at once is what keeps the service's loop busy after.
   */
  heldBacklog(service: string, since: number): string | undefined;
  /** Whether a new version of `service` was first seen (or came back) after `from`, up to `to`. */
  deployedIn(service: string, from: number, to: number): boolean;
}

/**
 * Groups anomaly episodes that share a root-cause service into incidents, deduplicated, with severity =
 * worst, and the lifecycle active → acknowledged → resolved (by hand, or by itself after a quiet period;
 * then late evidence of the same root cause reopens it, as a `reopened` event with status `active`).
 * Two faults with different origins are two incidents even when their symptoms meet in the same callers.
 */
export class IncidentManager {
  private readonly records = new Map<string, Record_>();
  private nextId = 1;
  /** {@link recompute}'s tally by origin key, and its entries, reused. */
  private readonly scores = new Map<string, Score>();
  private readonly scorePool: Score[] = [];

  /** Whether {@link coalesced} is routing: `opened` and `updated` events wait in {@link opening} and {@link changed}. */
  private coalescing = false;
  /** Incidents opened while {@link coalesced} routes, whose `opened` event is still to come. */
  private readonly opening = new Set<Record_>();
  /** Incidents changed while {@link coalesced} routes, whose `updated` event is still to come. */
  private readonly changed = new Set<Record_>();
  /** Incidents reopened (see {@link reopen}) and not told yet: their next change is told as `reopened`. */
  private readonly reopening = new Set<Record_>();

  constructor(
    private readonly opts: IncidentManagerOptions,
    private readonly emit: (event: IncidentEvent) => void,
    private readonly explain: ExplainRoot,
  ) {}

  /**
   * As {@link route}, for an anomaly that may be spread but not a fault of its own: it joins the open
   * incident `incidentId` or one it belongs to, and opens or reopens none. Returns that incident's id, if any.
   */
  join(anomaly: Anomaly, origins: RankedOrigin[], incidentId: string | undefined, now: number, effect = false): string | undefined {
    let rec = incidentId !== undefined ? this.records.get(incidentId) : undefined;
    if (rec !== undefined && rec.incident.status === 'resolved') rec = undefined;
    rec ??= this.findBelonging(anomaly, now);
    if (rec === undefined) return undefined;
    // An effect's evidence is the incident's root's (see Episodes.route): it tells, it does not re-root.
    return this.route(anomaly, effect ? [originAt(rec.incident.rootCause, 1, anomaly.samples)] : origins, rec.incident.id, now);
  }

  /** The open incident an anomaly not yet in one belongs to: as a symptom, in its root's home, or linked by the call graph. */
  private findBelonging(anomaly: Anomaly, now: number): Record_ | undefined {
    return this.findSymptom(anomaly, now) ?? this.findHome(anomaly, now) ?? this.findLinked(anomaly, now);
  }

  /**
   * Whether `anomaly` is more calls per request (an N+1, a retry loop) in a service whose new version came
   * after `since` (an incident's opening): new code's fault, its own incident whatever was already open about
   * that service. Probe 11's N+1 deploy was folded into an incident about the service's event loop (CPU
   * starved minutes before), and no view ever named it.
   */
  private newCode(anomaly: Pick<Anomaly, 'signal' | 'cause' | 'firstAt'>, since: number): boolean {
    return anomaly.signal === 'shape.more-calls' && anomaly.firstAt > since && this.opts.topology.deployedIn(anomaly.cause.service, since, anomaly.firstAt);
  }

  /**
   * Attaches a firing anomaly episode. `incidentId` is where the episode already belongs (if anywhere);
   * returns the incident id it belongs to now. `linked: false` (a traffic drop the trace graph does not
   * tie to a failing caller) joins an incident that is itself about traffic, or one it is the effect of
   * (see {@link findStoppedBy}).
   */
  route(anomaly: Anomaly, origins: RankedOrigin[], incidentId: string | undefined, now: number, linked = true): string {
    let rec = incidentId !== undefined ? this.records.get(incidentId) : undefined;
    if (rec !== undefined && rec.incident.status === 'resolved') rec = undefined;
    // New code's call pattern is a fault of its own, also where its callee roots an incident already open.
    if (rec !== undefined && !rec.anomalies.has(anomaly.id) && this.newCode(anomaly, rec.incident.openedAt)) rec = undefined;
    const isNewMember = rec === undefined || !rec.anomalies.has(anomaly.id);
    if (rec === undefined && !linked) {
      for (const r of this.records.values()) {
        const inc = r.incident;
        if (inc.status !== 'resolved' && inc.rootCause.kind === 'traffic' && inc.rootCause.service === anomaly.cause.service) rec = r;
      }
      rec ??= this.findStoppedBy(anomaly, now);
    } else if (rec === undefined) rec = this.findBelonging(anomaly, now) ?? this.reopen(anomaly, now);
    let opened = false;
    if (rec === undefined) {
      rec = this.open(anomaly, now);
      opened = true;
    }
    const before = rec.incident;
    const beforeKey = incidentHeadKey(before);
    const was = storyOf(before, now);
    rec.anomalies.set(anomaly.id, anomaly);
    setSymptom(rec, anomaly);
    rec.origins.set(anomaly.id, origins);
    rec.active.add(anomaly.id);
    rec.lastFiredAt = now;
    if (anomaly.kind !== 'traffic') rec.lastFailedAt = now;
    this.recompute(rec, now);
    const after = rec.incident;
    const afterKey = incidentHeadKey(after);
    // An incident opened in the routing in progress has told no one yet: no earlier state to remember.
    const announced = !opened && !this.opening.has(rec);
    if (announced && (isNewMember || beforeKey !== afterKey) && was.explanation !== after.rootCause.explanation) remember(after, was);
    if (opened) {
      if (this.coalescing) this.opening.add(rec);
      else this.tell(rec, 'opened');
    } else if (announced && (isNewMember || beforeKey !== afterKey)) {
      if (this.coalescing) this.changed.add(rec);
      else this.tell(rec, 'updated');
    }
    return after.id;
  }

  /**
   * Runs `routeAll` (the routing of one bucket's firings) with its `opened` and `updated` events
   * coalesced: one per incident, with its state at the end, after the others. A bucket where a cascade
   * reaches a dozen operations changed one incident once, not a dozen times in the same instant, and an
   * incident opens with what the whole bucket says (not titled by its first firing, retitled at once).
   *
   * Then open incidents that now name the same root-cause service are merged (see {@link mergeSameRoot}).
   * Returns the ids of the incidents merged away, each with the id of the incident it went on in.
   */
  coalesced(routeAll: () => void, now: number): ReadonlyMap<string, string> {
    this.coalescing = true;
    let merged: Map<string, string> | undefined;
    const folded: Record_[] = [];
    try {
      routeAll();
    } finally {
      this.coalescing = false;
      merged = this.mergeSameRoot(now, folded);
      for (const rec of this.opening) this.tell(rec, 'opened');
      for (const rec of this.changed) this.tell(rec, 'updated');
      for (const rec of folded) this.emit({ type: 'resolved', incident: copy(rec.incident) });
      this.opening.clear();
      this.changed.clear();
      this.reopening.clear();
    }
    return merged ?? NONE_MERGED;
  }

  /**
   * Merges each open incident into the earliest-opened open one rooted in the same service: one fault, as
   * routing would have grouped it had the root been known (see {@link findOpen}). Two incidents get there
   * when one is retitled as its evidence grows (callers' timeouts first named the caller, then the dead
   * callee another incident already names). The later one's anomalies go on in the earlier; if it was
   * announced it resolves as `merged` (pushed onto `folded`, whose events are still to be told), else it is
   * dropped unseen. Returns merged ids → the id each went on in (undefined when nothing merged).
   */
  private mergeSameRoot(now: number, folded: Record_[]): Map<string, string> | undefined {
    // Per service, the open incidents rooted in it that merge nothing into each other (see newCodeIncident).
    let first: Map<string, Record_[]> | undefined;
    let merged: Map<string, string> | undefined;
    for (const rec of this.records.values()) {
      if (rec.incident.status === 'resolved') continue;
      const service = rec.incident.rootCause.service;
      const survivors = (first ??= new Map<string, Record_[]>()).get(service);
      const into = survivors?.find((r) => !this.newCodeIncident(rec, r));
      if (into === undefined) {
        if (survivors === undefined) first.set(service, [rec]);
        else survivors.push(rec);
        continue;
      }
      this.fold(rec, into, now);
      // Its evidence may have moved the survivor's root: later incidents merge into it where it points now.
      const root = into.incident.rootCause.service;
      if (root !== service) {
        const left = (survivors as Record_[]).filter((r) => r !== into);
        if (left.length > 0) first.set(service, left);
        else first.delete(service);
        const there = first.get(root);
        if (there === undefined) first.set(root, [into]);
        else if (!there.includes(into)) there.push(into);
      }
      (merged ??= new Map()).set(rec.incident.id, into.incident.id);
      if (this.opening.delete(rec)) this.records.delete(rec.incident.id);
      else {
        rec.incident.mergedInto = into.incident.id;
        this.markResolved(rec, now, 'merged');
        folded.push(rec);
      }
    }
    // A survivor whose root moved to another open incident's merges into that one at the next routing.
    return merged;
  }

  /** Whether `later` is about new code ({@link newCode}) deployed after `earlier` opened: not the same fault. */
  private newCodeIncident(later: Record_, earlier: Record_): boolean {
    for (const a of later.anomalies.values()) if (this.newCode(a, earlier.incident.openedAt)) return true;
    return false;
  }

  /** Moves the anomalies of `from` into `into` (as if routed there) and updates `into`. */
  private fold(from: Record_, into: Record_, now: number): void {
    const was = storyOf(into.incident, now);
    for (const [id, a] of from.anomalies) {
      if (into.anomalies.has(id)) continue;
      into.anomalies.set(id, a);
      setSymptom(into, a);
      into.origins.set(id, from.origins.get(id) ?? []);
      if (from.active.has(id)) into.active.add(id);
    }
    from.active.clear();
    this.changed.delete(from);
    into.lastFiredAt = Math.max(into.lastFiredAt, from.lastFiredAt);
    into.seenAt = Math.max(into.seenAt, from.seenAt);
    if (from.lastFailedAt !== undefined) into.lastFailedAt = Math.max(into.lastFailedAt ?? -Infinity, from.lastFailedAt);
    this.recompute(into, now);
    if (this.opening.has(into)) return;
    if (was.explanation !== into.incident.rootCause.explanation) remember(into.incident, was);
    this.changed.add(into);
  }

  /** Emits the incident as it is now, which is what its listeners were last told of its root cause. */
  private tell(rec: Record_, change: 'opened' | 'updated'): void {
    const type = change === 'updated' && this.reopening.delete(rec) ? 'reopened' : change;
    const rc = rec.incident.rootCause;
    const key = opKey(rc.service, rc.operation ?? '');
    const before = rec.told;
    if (before === undefined || before.key !== key) rec.told = { key, kind: rc.kind, since: rec.incident.updatedAt, was: undefined };
    else if (before.kind !== rc.kind) rec.told = { key, kind: rc.kind, since: rec.incident.updatedAt, was: before.kind };
    this.emit({ type, incident: copy(rec.incident) });
  }

  /** An episode stopped firing. */
  episodeEnded(incidentId: string | undefined, anomalyId: string): void {
    if (incidentId === undefined) return;
    this.records.get(incidentId)?.active.delete(anomalyId);
  }

  /** Whether the incident is open with an episode still firing (its fault goes on); false for unknown ids. */
  going(id: string): boolean {
    const rec = this.records.get(id);
    return rec !== undefined && going(rec);
  }

  /** An episode of incident `id` saw its fault in the bucket ending at `now`, in its own requests (not just its windows). */
  faultSeen(id: string, now: number): void {
    const rec = this.records.get(id);
    if (rec !== undefined && now > rec.seenAt) rec.seenAt = now;
  }

  /**
   * Whether the incident's fault is still going on at `now`: an episode firing, and one of them showed the
   * fault within {@link SEEN_WITHIN_MS}. Only then do anomalies caused elsewhere join it as its spread: a
   * database lock 45 s after a cache came back, while the cache's incident still fired on windows holding
   * its outage, joined it (and the aftermath it counted in the database), and opened nothing.
   */
  private faultGoing(rec: Record_, now: number): boolean {
    return going(rec) && now - rec.seenAt <= SEEN_WITHIN_MS;
  }

  /** Whether the incident has a failure among its members (see {@link tick}); false for unknown ids. */
  failure(id: string): boolean {
    return this.records.get(id)?.lastFailedAt !== undefined;
  }

  /**
   * Resolves incidents quiet for the configured period. In an incident with failures, only they count:
   * traffic drops that joined it are the failure's effect (callers that stop calling, or all traffic
   * stopping with it), and a drop can last long after the failure ended.
   */
  tick(now: number): void {
    for (const rec of this.records.values()) {
      if (rec.incident.status === 'resolved' || keptOpen(rec)) continue;
      if (now - (rec.lastFailedAt ?? rec.lastFiredAt) >= this.opts.resolveAfterMs) this.close(rec, now, 'auto');
    }
  }

  /**
   * An episode lasted `adaptAfterMs` and is its operation's new normal: it ends, and an incident left with
   * nothing active that would keep it open resolves now as `adapted` (waiting out the quiet period would
   * only delay what is already known).
   */
  adapted(incidentId: string | undefined, anomalyId: string, now: number): void {
    this.episodeEnded(incidentId, anomalyId);
    const rec = incidentId === undefined ? undefined : this.records.get(incidentId);
    if (rec !== undefined && rec.incident.status !== 'resolved' && !keptOpen(rec)) this.close(rec, now, 'adapted');
  }

  private close(rec: Record_, now: number, by: NonNullable<Incident['resolvedBy']>): void {
    this.markResolved(rec, now, by);
    this.emit({ type: 'resolved', incident: copy(rec.incident) });
  }

  private markResolved(rec: Record_, now: number, by: NonNullable<Incident['resolvedBy']>): void {
    const inc = rec.incident;
    inc.status = 'resolved';
    inc.resolvedAt = now;
    inc.resolvedBy = by;
    // Its figures were current when it was last told, not at its resolution.
    inc.rootCause.explanation = datedTo(inc.rootCause.explanation, inc.updatedAt);
  }

  acknowledge(id: string, now: number, note?: IncidentNote): Incident | undefined {
    const rec = this.records.get(id);
    if (rec === undefined) return undefined;
    if (rec.incident.status === 'active') {
      rec.incident.status = 'acknowledged';
      rec.incident.acknowledgedAt = now;
      const given = noted(note);
      if (given !== undefined) rec.incident.acknowledgement = given;
      this.emit({ type: 'acknowledged', incident: copy(rec.incident) });
    }
    return copy(rec.incident);
  }

  resolve(id: string, now: number, note?: IncidentNote): Incident | undefined {
    const rec = this.records.get(id);
    if (rec === undefined) return undefined;
    if (rec.incident.status !== 'resolved') {
      rec.active.clear();
      const given = noted(note);
      if (given !== undefined) rec.incident.resolution = given;
      this.close(rec, now, 'user');
    }
    return copy(rec.incident);
  }

  get(id: string): Incident | undefined {
    const rec = this.records.get(id);
    return rec ? copy(rec.incident) : undefined;
  }

  list(filter: IncidentFilter = {}): Incident[] {
    const statuses = filter.status === undefined ? undefined : new Set([filter.status].flat());
    const minRank = filter.severity ? SEVERITY_RANK[filter.severity] : 0;
    const out: Incident[] = [];
    for (const rec of this.records.values()) {
      const inc = rec.incident;
      if (statuses && !statuses.has(inc.status)) continue;
      if (SEVERITY_RANK[inc.severity] < minRank) continue;
      if (filter.service !== undefined && !involves(inc, (r) => r.service === filter.service)) continue;
      if (filter.operation !== undefined && !involves(inc, (r) => r.operation === filter.operation)) continue;
      out.push(copy(inc));
    }
    return out.sort((a, b) => b.openedAt - a.openedAt || b.id.localeCompare(a.id));
  }

  counts(): { active: number; total: number } {
    let active = 0;
    for (const rec of this.records.values()) if (rec.incident.status !== 'resolved') active++;
    return { active, total: this.records.size };
  }

  toJSON(): IncidentsSnapshot {
    return {
      nextId: this.nextId,
      records: [...this.records.values()].map((r) => ({
        incident: copy(r.incident),
        origins: [...r.origins],
        lastFiredAt: r.lastFiredAt,
      })),
    };
  }

  restore(json: IncidentsSnapshot): void {
    this.records.clear();
    this.nextId = json.nextId;
    for (const r of json.records) {
      const incident = copy(r.incident);
      const rec: Record_ = {
        incident,
        anomalies: new Map(incident.anomalies.map((a) => [a.id, a])),
        origins: new Map(r.origins),
        // Episodes do not survive a restart: an incident restored active resolves after its quiet period.
        active: new Set(),
        symptomOf: new Map(),
        symptoms: new Map(),
        lastFiredAt: r.lastFiredAt,
        seenAt: r.lastFiredAt,
        ...(incident.anomalies.some((a) => a.kind !== 'traffic') ? { lastFailedAt: r.lastFiredAt } : {}),
      };
      for (const a of incident.anomalies) setSymptom(rec, a);
      this.records.set(incident.id, rec);
    }
  }

  /**
   * The live incident (see {@link live}) that already holds this symptom (the same signal of the same
   * operation, with the same caller or callee) from an earlier episode: the signal firing again, or still
   * firing after a restart, which keeps incidents but not episodes. Routed afresh, a restored incident's
   * symptom whose evidence now named no cause in it opened a second incident for the same fault. An incident
   * quiet for longer, though not resolved yet, is no home for it: a later fault cascading through the same
   * caller is a fault of its own.
   */
  private findSymptom(anomaly: Anomaly, now: number): Record_ | undefined {
    // Evidence that names the symptom's own service has only lost its pointer, unless an incident whose fault
    // goes on counts that service in it: then that fault is why (see findCascade).
    const lostPointer = anomaly.cause.service === anomaly.service && !this.spreadTo(anomaly.service, now);
    for (const rec of this.records.values()) {
      if (!this.live(rec, now) || this.newCode(anomaly, rec.incident.openedAt)) continue;
      // Once the incident's fault is over (see faultGoing), not when the evidence now names another service:
      // a caller slowed by a cache's outage, slowed again a minute later by its database's lock, has a new
      // fault.
      const going = this.faultGoing(rec, now) || lostPointer;
      for (const a of rec.anomalies.values()) if (sameSymptom(a, anomaly) && (going || a.cause.service === anomaly.cause.service)) return rec;
    }
    return undefined;
  }

  /**
   * The open incident of the anomaly's cause ({@link findOpen}), else the one it is the spread of
   * ({@link findCascade}); the spread of a fault going on first when the cause's own incident is over: a
   * cache answering late because its caller let go of a database lock's backlog is the lock's, not the
   * cache's outage of minutes before, which it kept open.
   */
  private findHome(anomaly: Anomaly, now: number): Record_ | undefined {
    const open = this.findOpen(anomaly, now);
    if (open !== undefined && this.faultGoing(open, now)) return open;
    return this.findCascade(anomaly, now) ?? open;
  }

  /** Whether an incident whose fault goes on has reached `service` (its root, or affected). */
  private spreadTo(service: string, now: number): boolean {
    for (const rec of this.records.values()) {
      if (this.faultGoing(rec, now) && (rec.incident.rootCause.service === service || rec.incident.affected.some((r) => r.service === service))) return true;
    }
    return false;
  }

  /**
   * The open incident rooted in the anomaly's cause, else one where an episode caused by its service is still
   * firing, unless the anomaly is that service's own later trouble ({@link ownLater}). Not one whose episodes in
   * that service have ended: a database that was the effect of an earlier fault (slowed by a cache's outage)
   * and fails on its own minutes later (a lock) is a fault of its own, and folded into the old incident under
   * its old root cause, it opened nothing.
   */
  private findOpen(anomaly: Anomaly, now: number): Record_ | undefined {
    const service = anomaly.cause.service;
    let best: Record_ | undefined;
    for (const rec of this.records.values()) {
      if (rec.incident.status === 'resolved' || this.newCode(anomaly, rec.incident.openedAt)) continue;
      if (rec.incident.rootCause.service === service) return rec;
      if (best !== undefined || !this.faultGoing(rec, now) || this.ownLater(anomaly, rec)) continue;
      for (const id of rec.active) {
        if (rec.anomalies.get(id)?.cause.service !== service) continue;
        best = rec;
        break;
      }
    }
    return best;
  }

  /**
   * An open incident this anomaly is a later symptom of: its evidence points at a service the incident
   * already counts as affected (a caller giving up on a callee that the root cause slowed, a minute into
   * the cascade). Only failures and slowness spread that way: a traffic change or a new call pattern is
   * never merged on this ground. Independent faults still open their own incidents: their causes are
   * not among another incident's affected services.
   *
   * A peer's slowness or timeouts that begin later, while every service calling it is in the incident,
   * are its symptom too: a peer is timed by its callers' client spans, and those include the caller's own
   * stall (a backlog answered at once when a lock is released, an event loop busy with it). Errors are the
   * peer's own answers and still open their own incident.
   *
   * Nor is a fault of the affected service's own that begins later (see {@link ownLater}): its errors where
   * the incident saw it only slow, say.
   */
  private findCascade(anomaly: Anomaly, now: number): Record_ | undefined {
    const k = anomaly.kind;
    if (k !== 'timeout' && k !== 'errors' && k !== 'latency') return undefined;
    const service = anomaly.cause.service;
    const homes = k === 'errors' ? undefined : this.opts.topology.homes(service);
    const peer = homes !== undefined && homes.size > 0 && !homes.has(service);
    for (const rec of this.records.values()) {
      // Only while the incident's fault goes on: one whose fault is over cascades no further.
      if (!this.faultGoing(rec, now)) continue;
      if (rec.incident.affected.some((r) => r.service === service)) {
        if (this.ownLater(anomaly, rec)) continue;
        return rec;
      }
      if (peer && anomaly.firstAt > onset(rec) && this.within(homes, rec)) return rec;
    }
    return undefined;
  }

  /**
   * Whether `anomaly`, pointing at a service the incident counts as affected, is a fault of that service's
   * own rather than the incident's spread: it began after the incident's evidence could still be arriving
   * ({@link IncidentManagerOptions.echoMs} past its onset), and it is trouble of a kind the incident never saw
   * in that service (errors where it was only slow, slowness where it only failed), or slowness of the
   * service's own code (its self time) where the incident's slowness there was all another's doing. (A
   * process's event loop held by the backlog a database lock released is slowness of its own: its bug's
   * errors a minute later are still news.) A payment outage's incident absorbed checkout's own slowdown two
   * minutes later, and a database slowdown's absorbed a bug's errors in the service reading it: neither was
   * ever told. Waits on the service that the incident saw slow (its callers giving up a minute into the
   * cascade) are still its spread.
   */
  private ownLater(anomaly: Anomaly, rec: Record_): boolean {
    const service = anomaly.cause.service;
    if (anomaly.firstAt <= onset(rec) + this.opts.echoMs) return false;
    const waits = anomaly.kind !== 'errors';
    // Trouble of the same family (failures, or waits) the incident saw in the service, and whether any was the service's own.
    let seen = false;
    let own = false;
    for (const a of rec.anomalies.values()) {
      if ((a.kind !== 'errors') !== waits) continue;
      if (a.cause.service === service) own = seen = true;
      else if (a.service === service) seen = true;
    }
    return !seen || (!own && anomaly.signal === 'latency.self' && anomaly.service === service);
  }

  /** Whether every one of `services` is where the incident's root cause runs or among the services it affects. */
  private within(services: ReadonlySet<string>, rec: Record_): boolean {
    const inc = rec.incident;
    const rootHomes = this.opts.topology.homes(inc.rootCause.service);
    for (const s of services) if (!rootHomes.has(s) && !inc.affected.some((r) => r.service === s)) return false;
    return true;
  }

  /** Open, and firing now or recently enough that its evidence is still in the windows. */
  private live(rec: Record_, now: number): boolean {
    return rec.incident.status !== 'resolved' && (rec.active.size > 0 || now - rec.lastFiredAt <= this.opts.echoMs);
  }

  /**
   * An open incident the call graph ties this anomaly to, where no trace does (spans of one request
   * judged apart, work blocked without a span):
   * - a caller-side symptom (callers giving up, a changed call pattern) of a service that calls the
   *   incident's root cause: the cascade seen from above;
   * - an onset coinciding with the incident's (within `coincideMs`), and either its cause runs in a
   *   service the root cause runs in (a write lock in a service's database slows the writes, a database
   *   span, and blocks the service's reads too, its own time), or the incident is itself a caller-side
   *   symptom of a service that calls this anomaly's cause (the callers' half of a trace judged before
   *   the callee's half arrived).
   * Faults in unrelated services, or in related ones minutes apart, stay separate incidents.
   */
  private findLinked(anomaly: Anomaly, now: number): Record_ | undefined {
    if (anomaly.kind === 'traffic') return undefined;
    const { topology, coincideMs } = this.opts;
    const cause = anomaly.cause.service;
    const homes = topology.homes(cause);
    const calls = callerSide(anomaly.cause.kind) ? topology.callees(cause) : undefined;
    for (const rec of this.records.values()) {
      if (!this.live(rec, now) || this.newCode(anomaly, rec.incident.openedAt)) continue;
      const root = rec.incident.rootCause;
      if (calls?.has(root.service)) return rec;
      if (Math.abs(anomaly.firstAt - onset(rec)) > coincideMs) continue;
      if (callerSide(root.kind) && topology.callees(root.service).has(cause)) return rec;
      for (const h of topology.homes(root.service)) if (homes.has(h)) return rec;
    }
    return undefined;
  }

  /**
   * An open failure incident that a traffic drop no trace ties to it is the effect of: it affects the
   * dropping operation's service and began in the window the drop is judged on. A process sees only its own
   * spans: when its database goes down, its callers' requests that fail on one of its routes never call the
   * next one (a purchase that could not read the stock reserves none), and that route's traffic drops with
   * no failing caller in sight. Without this, the drop opened an incident of its own a minute into the outage.
   */
  private findStoppedBy(anomaly: Anomaly, now: number): Record_ | undefined {
    const from = anomaly.windowStart - this.opts.coincideMs;
    for (const rec of this.records.values()) {
      if (rec.lastFailedAt === undefined || !this.live(rec, now)) continue;
      const began = onset(rec);
      if (began >= from && began <= anomaly.firstAt && involves(rec.incident, (r) => r.service === anomaly.service)) return rec;
    }
    return undefined;
  }

  /**
   * An incident that resolved by itself moments ago, rooted where this anomaly points, reopened: evidence
   * of the same fault that arrived late (a caller's window still holding the outage: its window reaches back
   * before the resolution) continues that incident rather than opening a second one, unless it is a new
   * fault by its kind (see {@link anotherFault}). Trouble whose evidence all came after the resolution is
   * a new incident, also of the same root cause: a fault injected again two minutes after the last (a 60 ms
   * CPU hog after a 200 ms one, a callee slowed after the same callee was) was told as the old incident
   * reopened, with its old figures and no `opened` event. One resolved by a user stays resolved.
   */
  private reopen(anomaly: Anomaly, now: number): Record_ | undefined {
    if (anomaly.kind === 'traffic') return undefined;
    const cause = anomaly.cause;
    let found: Record_ | undefined;
    for (const rec of this.records.values()) {
      const inc = rec.incident;
      if (inc.resolvedBy !== 'auto' || inc.resolvedAt === null || inc.rootCause.service !== cause.service) continue;
      if (now - inc.resolvedAt > this.opts.echoMs || anomaly.windowStart >= inc.resolvedAt || anotherFault(inc.rootCause.kind, cause.kind) || this.newCode(anomaly, inc.openedAt)) continue;
      if (found === undefined || inc.resolvedAt > (found.incident.resolvedAt as number)) found = rec;
    }
    if (found !== undefined) {
      const inc = found.incident;
      inc.reopened = { at: now, resolvedAt: inc.resolvedAt as number, times: (inc.reopened?.times ?? 0) + 1 };
      inc.status = 'active';
      inc.resolvedAt = null;
      inc.resolvedBy = null;
      this.reopening.add(found);
    }
    return found;
  }

  private open(anomaly: Anomaly, now: number): Record_ {
    const id = `inc-${this.nextId++}`;
    const incident: Incident = {
      id,
      status: 'active',
      severity: anomaly.severity,
      title: '',
      openedAt: now,
      updatedAt: now,
      acknowledgedAt: null,
      resolvedAt: null,
      resolvedBy: null,
      rootCause: { service: anomaly.cause.service, operation: anomaly.cause.operation, kind: anomaly.cause.kind, confidence: 0, explanation: '' },
      candidates: [],
      affected: [],
      anomalies: [],
      traceIds: [],
      story: [],
      storyDropped: 0,
    };
    const rec: Record_ = { incident, anomalies: new Map(), origins: new Map(), active: new Set(), symptomOf: new Map(), symptoms: new Map(), lastFiredAt: now, seenAt: now };
    this.records.set(id, rec);
    return rec;
  }

  /** Re-derives severity, candidates, root cause, affected operations and exemplars from the members. */
  private recompute(rec: Record_, now: number): void {
    const inc = rec.incident;
    const anomalies = [...rec.anomalies.values()];
    // Evidence is summed per operation; the operation's kind is the kind with the most evidence
    // (a hung callee shows timeouts in its callers and a traffic drop in its own late spans).
    // Recomputed on every firing of a member, so the tally lives in scratch reused from call to call.
    const scores = this.scores;
    scores.clear();
    let used = 0;
    const shared = sharedWork(anomalies, this.opts.topology, rec.told?.key);
    // A loop seen only from outside, busy after a call of its service's held a connection for seconds: the
    // backlog that call let through at once (a row lock released with requests queued for the pool).
    // Asked only of loop origins, once per service: most incidents have none.
    const backlogs = new Map<string, string | undefined>();
    const backlogOf = (service: string): string | undefined => {
      if (!backlogs.has(service)) backlogs.set(service, this.opts.topology.samplesLoop(service) ? undefined : this.opts.topology.heldBacklog(service, Math.min(...anomalies.map((a) => a.windowStart))));
      return backlogs.get(service);
    };
    for (const a of anomalies) {
      // One operation's one kind of symptom is one piece of evidence, however many episodes it split into
      // (a request that stops part-way misses every later call: one call-pattern episode per callee).
      const weight = SEVERITY_RANK[a.severity] / (rec.symptoms.get(rec.symptomOf.get(a.id) as string) ?? 1);
      const live = rec.active.has(a.id);
      // An operation's own time, or a peer's latency as the loop's service timed it, that is the loop's (see sharedWork).
      const loop = a.kind === 'latency' ? shared?.get(a.service) : undefined;
      const timed = loop !== undefined && opKeyService(loop) !== a.service;
      for (const own of rec.origins.get(a.id) ?? NO_ORIGINS) {
        const moved = loop !== undefined && own.service === a.service && (timed || (a.signal === 'latency.self' && own.operation === a.operation));
        let o = moved ? { ...own, service: opKeyService(loop), operation: EVENT_LOOP_OPERATION, key: loop } : own;
        const held = o.operation === EVENT_LOOP_OPERATION ? backlogOf(o.service) : undefined;
        if (held !== undefined) o = { ...o, service: opKeyService(held), operation: opKeyOperation(held), key: held };
        const s = o.share * weight;
        // A peer seen only from outside is one suspect: the evidence against the paths its callers call is
        // summed, as it is for an instrumented service's one operation. Its busiest operation is named.
        const peer = this.opts.topology.isPeer(o.key);
        const group = peer ? o.service : o.key;
        let cur = scores.get(group);
        if (cur === undefined) {
          cur = this.scorePool[used++] ??= new Score();
          cur.reset(o, peer);
          scores.set(group, cur);
        }
        if (peer) cur.addOperation(o, s * fewRequests(o.count), a, live);
        cur.score += s;
        cur.support += o.count;
        cur.all.add(o.kind, s);
        if (live) cur.live.add(o.kind, s);
      }
    }
    const told: Told = rec.told ?? { key: opKey(inc.rootCause.service, inc.rootCause.operation ?? ''), kind: inc.rootCause.kind, since: -Infinity, was: undefined };
    const named = told.key;
    for (const c of scores.values()) c.settle(named);
    // A failure outranks a traffic drop, which is its effect (callers that stop calling, or requests that
    // have not ended yet), as when the incident resolves. Evidence resting on few requests counts for
    // less, as in the confidence below: a fault of a busy operation that also shows in a rare one is the
    // busy one's (ties: the suspect more requests point at).
    const ranked = [...scores.values()].sort(
      (a, b) => Number(b.all.failure()) - Number(a.all.failure()) || b.weighed() - a.weighed() || b.support - a.support || a.origin.key.localeCompare(b.origin.key),
    );
    if (rec.told !== undefined) keepNamed(ranked, named);
    // The kind is what its live evidence says (an error burst after a slowdown is about errors now), else
    // what all of it said; the kind the incident names for the operation keeps it unless clearly outweighed,
    // and the kind it replaced does not come back for a while.
    const kindOf = (c: Score): AnomalyKind => {
      if (c.origin.key !== named) return c.kind();
      const k = c.kind(told.kind);
      // Errors it names are not retold as a slowdown: while they last, a failing operation that is also slow
      // is failing (a cache's commands refused, then those its client held through the outage answered
      // late, 6441× its baseline, as it came back); once they stop, what stays slow is their aftermath (a
      // backlog drained, connections made again), not another fault. A hang's late answers are its own.
      if (k === 'latency' && told.kind === 'errors') return told.kind;
      return k === told.was && now - told.since < FLIP_BACK_MS ? told.kind : k;
    };
    inc.candidates = ranked.slice(0, 5).map((c): Candidate => ({
      service: c.origin.service,
      operation: c.origin.operation,
      kind: kindOf(c),
      score: round3(c.score),
    }));
    const best = ranked[0];
    if (best !== undefined) {
      const pick: RankedOrigin = { ...best.origin, kind: kindOf(best) };
      const top = this.held(rec, pick, now) ?? pick;
      // Confidence that the cascade started in the top candidate's service: how much of the evidence points
      // at it (a slow database's statements are one service's), discounted when it rests on few requests.
      // A traffic drop that joined a failure is its effect, no evidence against another suspect.
      const failure = best.all.failure();
      let service = 0;
      let total = 0;
      for (const c of ranked) {
        if (failure && !c.all.failure()) continue;
        total += c.score;
        if (c.origin.service === best.origin.service) service += c.score;
      }
      const confidence = total > 0 ? (service / total) * fewRequests(best.support) : 0;
      const { explanation, change } = this.explain(top, anomalies);
      inc.rootCause = { service: top.service, operation: top.operation, kind: top.kind, confidence: round3(confidence), explanation: explanation + alsoOwn(top, anomalies) };
      if (change) inc.rootCause.change = change;
    }
    // The tally keeps no origins alive past the update.
    for (let i = 0; i < used; i++) this.scorePool[i].release();
    scores.clear();
    let severity: Severity = 'low';
    for (const a of anomalies) if (SEVERITY_RANK[a.severity] > SEVERITY_RANK[severity]) severity = a.severity;
    inc.severity = severity;
    inc.updatedAt = now;
    inc.affected = affectedOf(anomalies);
    inc.anomalies = anomalies;
    const traces: string[] = [];
    const max = this.opts.maxExemplars;
    for (let i = anomalies.length - 1; i >= 0 && traces.length < max; i--) {
      for (const t of anomalies[i].traceIds) {
        if (traces.length < max && !traces.includes(t)) traces.push(t);
      }
    }
    inc.traceIds = traces;
    const others = [...new Set(inc.affected.map((r) => r.service).filter((s) => s !== inc.rootCause.service && !this.measuredByRoot(s, inc.rootCause.service, anomalies, shared)))];
    inc.title =
      `${KIND_TITLE[inc.rootCause.kind]} in ${label(inc.rootCause.service, inc.rootCause.operation)}` +
      (others.length > 0 ? `, affecting ${others.slice(0, 3).join(', ')}${others.length > 3 ? ` and ${others.length - 3} more` : ''}` : '');
  }

  /**
   * The root the incident was last told of, kept while `pick`, another operation or kind of the same service,
   * has not been the pick at the end of each bucket for `renameHoldMs`; undefined when `pick` is to be
   * named. A bucket's routing recomputes the incident once per firing, so only a bucket's last pick counts:
   * the states it passes through on the way are not the fault moving.
   */
  private held(rec: Record_, pick: RankedOrigin, now: number): RankedOrigin | undefined {
    const told = rec.told;
    const last = rec.pick;
    if (last !== undefined && last.at < now) {
      if (told !== undefined && last.key === told.key && last.kind === told.kind) rec.pending = undefined;
      else if (rec.pending?.key !== last.key || rec.pending.kind !== last.kind) rec.pending = { key: last.key, kind: last.kind, since: last.at };
    }
    rec.pick = { key: pick.key, kind: pick.kind, at: now };
    if (told === undefined || (told.key === pick.key && told.kind === pick.kind) || opKeyService(told.key) !== pick.service) return undefined;
    const p = rec.pending;
    const since = p !== undefined && p.key === pick.key && p.kind === pick.kind ? p.since : now;
    if (now - since >= this.opts.renameHoldMs) return undefined;
    const operation = opKeyOperation(told.key);
    return { ...pick, operation: operation === '' ? null : operation, key: told.key, kind: told.kind };
  }

  /**
   * Whether every anomaly of `service` in the incident is of an uninstrumented peer, traced back to the
   * root's own service: timed only by the root's client spans, so their slowness is the root's (its held
   * event loop read the answers late). Such a peer is not affected: "Latency in cart event loop, affecting
   * redis" read as if redis had suffered.
   */
  private measuredByRoot(service: string, root: string, anomalies: readonly Anomaly[], shared: ReadonlyMap<string, string> | undefined): boolean {
    let any = false;
    const loop = shared?.get(service);
    const ours = loop !== undefined && opKeyService(loop) === root;
    for (const a of anomalies) {
      if (a.service !== service) continue;
      if ((a.cause.service !== root && !(ours && a.kind === 'latency')) || !this.opts.topology.isPeer(opKey(a.service, a.operation ?? ''))) return false;
      any = true;
    }
    return any;
  }
}

/**
 * The operations an incident's anomalies are about, once each: the first to fire first, then the more
 * severe, then by name. An order of their own, not the order their anomalies joined (which follows the
 * order the analyzer first saw the operations), so the title names the same services whatever order the
 * spans came in.
 */
function affectedOf(anomalies: readonly Anomaly[]): OperationRef[] {
  const byKey = new Map<string, { ref: OperationRef; firstAt: number; rank: number }>();
  for (const a of anomalies) {
    const key = opKey(a.service, a.operation ?? '');
    const rank = SEVERITY_RANK[a.severity];
    const cur = byKey.get(key);
    if (cur === undefined) byKey.set(key, { ref: { service: a.service, operation: a.operation }, firstAt: a.firstAt, rank });
    else {
      if (a.firstAt < cur.firstAt) cur.firstAt = a.firstAt;
      if (rank > cur.rank) cur.rank = rank;
    }
  }
  return [...byKey.values()]
    .sort((a, b) => a.firstAt - b.firstAt || b.rank - a.rank || a.ref.service.localeCompare(b.ref.service) || (a.ref.operation ?? '').localeCompare(b.ref.operation ?? ''))
    .map((e) => e.ref);
}

/**
 * Whether a root's `later` kind of trouble, just after its incident of `kind` resolved, is a new fault, not
 * that incident's late evidence: another kind (a slowdown's root starting to fail, an outage's root hanging)
 * but a call-pattern change (requests skipping calls after a failure). A service slowed for a minute, then
 * failing 40 % of its requests 55 s after that incident resolved, was told as the slowdown's incident
 * reopened ("updated", opened before the failures), and its hang after that as the failures' incident.
 */
function anotherFault(kind: AnomalyKind, later: AnomalyKind): boolean {
  return later !== kind && later !== 'shape';
}

/** The note's given fields (a copy: the caller's object is not kept), undefined when it gives none. */
function noted(note: IncidentNote | undefined): IncidentNote | undefined {
  if (note === undefined) return undefined;
  const out: IncidentNote = {};
  if (note.by !== undefined) out.by = note.by;
  if (note.note !== undefined) out.note = note.note;
  return out.by === undefined && out.note === undefined ? undefined : out;
}

const NO_ORIGINS: readonly RankedOrigin[] = [];
const NONE_MERGED: ReadonlyMap<string, string> = new Map();
const NO_ORIGIN: RankedOrigin = { service: '', operation: null, key: '', kind: 'errors', share: 0, count: 0 };

/** Operations of one service whose own time fired beside its event loop's holds before that counts as work all its requests share. */
const SHARED_WORK_OPERATIONS = 2;
/** Peers whose latency (in operations only one service calls) fired beside its own time before their slowness counts as its loop's. */
const SHARED_WORK_PEERS = 2;
/** Share of its traced callees' answers a process without loop samples read 20 ms late or more that says its loop is held. */
const READS_LATE_SHARE = 0.1;
/** How long before an anomaly's first detection its answers read late count (a bucket: when it began). */
const SHARED_WORK_LEAD_MS = 5000;

/**
 * Per service whose own work slowed its requests, and per peer whose slowness is that work's, the service's
 * event loop's key: its evidence is the loop's.
 * - The loop's holds fired and the own time of {@link SHARED_WORK_OPERATIONS} or more of its operations did
 *   too: work every request does (a middleware burning CPU) slows each operation by itself, and no one of
 *   them is the cause.
 * - Its loop not sampled (a central view), the own time of one of its operations fired beside the
 *   latency of its calls to {@link SHARED_WORK_PEERS} or more peers (a database and a cache), each slow in
 *   operations no other service calls: a held loop reads every answer late, whatever the callee, and two
 *   peers do not slow down at once by chance, nor does a slow database make a cache slow. A pool's waits
 *   on a slow database are own time beside one peer's latency.
 * - Its loop not sampled, the own time of {@link SHARED_WORK_OPERATIONS} or more of its operations fired
 *   while it read a share of its traced callees' answers late ({@link READS_LATE_SHARE},
 *   {@link Topology.lateShare}): its database's slow calls were answers read late too. A GC pause now and
 *   then reads one answer late, not a share of them.
 */
function sharedWork(anomalies: readonly Anomaly[], topology: Topology, named: string | undefined): Map<string, string> | undefined {
  let out: Map<string, string> | undefined;
  for (const a of anomalies) {
    if (a.signal !== 'latency.self' || a.operation === EVENT_LOOP_OPERATION || out?.has(a.service)) continue;
    const own = new Set<string | null>();
    const peers = new Set<string>();
    let held = false;
    // From a bucket before the own time or the peers' latency was first detected (a window reaching back
    // into the healthy time before would dilute the share of answers read late) to their latest detection.
    let from = Infinity;
    let to = -Infinity;
    for (const b of anomalies) {
      if (b.service === a.service) {
        if (b.operation === EVENT_LOOP_OPERATION) held ||= b.kind === 'latency';
        else if (b.signal === 'latency.self') own.add(b.operation);
        else continue;
      } else if (b.kind === 'latency') {
        const key = opKey(b.service, b.operation ?? '');
        if (!topology.isPeer(key) || !onlyCaller(topology.callers(key), a.service)) continue;
        peers.add(b.service);
      } else continue;
      if (b.firstAt - SHARED_WORK_LEAD_MS < from) from = b.firstAt - SHARED_WORK_LEAD_MS;
      if (b.at > to) to = b.at;
    }
    const loop = opKey(a.service, EVENT_LOOP_OPERATION);
    // Sampled, the loop tells for itself whether it was held; not sampled, two peers slowing together, or
    // its answers read late, say so (a share hovering about its bar does not flip the name back and forth:
    // once named, the loop keeps it at half the bar).
    const bar = named === loop ? READS_LATE_SHARE / 2 : READS_LATE_SHARE;
    if (!topology.samplesLoop(a.service) && (peers.size >= SHARED_WORK_PEERS || (own.size >= SHARED_WORK_OPERATIONS && topology.lateShare(a.service, from, to) >= bar))) {
      out ??= new Map();
      out.set(a.service, loop);
      for (const p of peers) out.set(p, loop);
    } else if (held && own.size >= SHARED_WORK_OPERATIONS) (out ??= new Map()).set(a.service, loop);
  }
  return out;
}

/** Whether `callers` is `service` alone. */
function onlyCaller(callers: ReadonlySet<string>, service: string): boolean {
  return callers.size === 1 && callers.has(service);
}

/** Evidence per kind, in the order the kinds were first seen (ties go to the first). */
class KindTally {
  readonly kinds: AnomalyKind[] = [];
  readonly sums: number[] = [];
  size = 0;

  add(kind: AnomalyKind, s: number): void {
    for (let i = 0; i < this.size; i++) {
      if (this.kinds[i] === kind) {
        this.sums[i] += s;
        return;
      }
    }
    this.kinds[this.size] = kind;
    this.sums[this.size++] = s;
  }

  /** Adds every kind's evidence of `other`, its latency and timeouts both as `waits`. */
  addAll(other: KindTally, waits: 'latency' | 'timeout'): void {
    for (let i = 0; i < other.size; i++) {
      const k = other.kinds[i];
      this.add(k === 'latency' || k === 'timeout' ? waits : k, other.sums[i]);
    }
  }

  /** The evidence of `kind` (0 for none). */
  sum(kind: AnomalyKind): number {
    for (let i = 0; i < this.size; i++) if (this.kinds[i] === kind) return this.sums[i];
    return 0;
  }

  /** Whether any of the evidence is of a failure (anything but traffic). */
  failure(): boolean {
    for (let i = 0; i < this.size; i++) if (this.kinds[i] !== 'traffic') return true;
    return false;
  }

  /**
   * The kind with the most evidence, `held` (the kind named so far) counted at {@link RENAME_MARGIN} times its
   * own; of the failure kinds only when `failure` (a traffic drop is a failure's effect).
   */
  best(held?: AnomalyKind, failure = false): AnomalyKind {
    let at = -1;
    for (let i = 0; i < this.size; i++) {
      if (failure && this.kinds[i] === 'traffic') continue;
      if (at < 0 || this.weight(i, held) > this.weight(at, held)) at = i;
    }
    return this.kinds[at < 0 ? 0 : at];
  }

  /** The kind with the most evidence a call's own span shows (errors, timeout, latency), weighed as in {@link best}; undefined if none. */
  bestOwn(held?: AnomalyKind): AnomalyKind | undefined {
    let at = -1;
    for (let i = 0; i < this.size; i++) {
      const k = this.kinds[i];
      if (k !== 'shape' && k !== 'traffic' && (at < 0 || this.weight(i, held) > this.weight(at, held))) at = i;
    }
    return at < 0 ? undefined : this.kinds[at];
  }

  private weight(i: number, held: AnomalyKind | undefined): number {
    return this.kinds[i] === held ? RENAME_MARGIN * this.sums[i] : this.sums[i];
  }
}

/** One origin's evidence in an incident: its first origin as seen, summed score and support, per kind. */
class Score {
  origin: RankedOrigin = NO_ORIGIN;
  score = 0;
  support = 0;
  readonly all = new KindTally();
  readonly live = new KindTally();

  /** A peer's operations' evidence, in the order first seen (see {@link addOperation}); empty for an operation's own score. */
  private readonly operations = new Map<string, OperationEvidence>();
  /** The peer's operation {@link settle} named, whose own evidence tells the kind; undefined for an operation's own score. */
  private named: OperationEvidence | undefined;
  /** The score is a peer's (a database, a cache), seen only from its callers' spans. */
  private peer = false;

  /** The score, discounted when it rests on few requests ({@link fewRequests}). */
  weighed(): number {
    return this.score * fewRequests(this.support);
  }

  reset(origin: RankedOrigin, peer: boolean): void {
    this.origin = origin;
    this.peer = peer;
    this.score = 0;
    this.support = 0;
    this.all.size = 0;
    this.live.size = 0;
    this.operations.clear();
    this.named = undefined;
  }

  /** Lets go of the origins the score holds (pooled scores keep none alive past an update). */
  release(): void {
    this.origin = NO_ORIGIN;
    this.named = undefined;
  }

  /** Adds `s` to the peer operation `o`, from anomaly `a`, still firing if `live` (see {@link settle}). */
  addOperation(o: RankedOrigin, s: number, a: Anomaly, live: boolean): void {
    const { firstAt, at } = a;
    const poolWait = isPoolWait(o.operation);
    const hung = o.kind === 'timeout' || poolWait ? firstAt : Infinity;
    // Per second of the window judged: windows grow at low traffic (5 s to 60 s), and their counts alone
    // made a rarer route's long window look busier than a busy route's short one.
    const rate = o.count / (Math.max(at - a.windowStart, MIN_WINDOW_MS) / 1000);
    let e = this.operations.get(o.key);
    if (e === undefined) {
      e = { origin: o, sum: s, rate, since: firstAt, lastAt: at, hungSince: hung, answersInMs: 0, holds: false, all: new KindTally(), live: new KindTally() };
      this.operations.set(o.key, e);
    } else {
      e.sum += s;
      e.rate += rate;
      if (firstAt < e.since) e.since = firstAt;
      if (at > e.lastAt) e.lastAt = at;
      if (hung < e.hungSince) e.hungSince = hung;
    }
    if (!poolWait && a.service === o.service && isPoolWait(a.operation)) e.holds = true;
    // Its own calls' typical latency, where one of its own latency anomalies gives it.
    if (a.signal === 'latency' && a.service === o.service && a.operation === o.operation && a.observed > e.answersInMs) e.answersInMs = a.observed;
    e.all.add(o.kind, s);
    if (live) e.live.add(o.kind, s);
  }

  /**
   * Names a peer's score after the operation with the most evidence (the first seen of equals). A wait for
   * a pooled connection names it only when no statement has evidence that began with the waits': a pool
   * fills because its connections hang on something, and requests then queue for one in far greater
   * numbers. Statements slowing only {@link AFTERMATH_MS} after the first hang began (calls given up on,
   * or pool waits) are its aftermath, not its cause: the requests that queued rushing in once a lock is
   * released or connections come back (an INSERT 27× slower for a moment), or a pool that leaked. Nor is
   * a statement whose evidence ended that long before the hang began: an earlier episode (a blip the
   * incident resolved after, reopened by the hang), not what hangs now. The operation named so far (key
   * `current`) keeps the name unless another {@link outweighs} it.
   */
  settle(current: string): void {
    const ops = this.operations;
    if (ops.size === 0) return;
    let hungSince = Infinity;
    for (const e of ops.values()) if (e.hungSince < hungSince) hungSince = e.hungSince;
    const held = ops.get(current);
    const wait = heaviest(ops.values(), (e) => isPoolWait(e.origin.operation), held);
    const statement = heaviest(ops.values(), (e) => !isPoolWait(e.origin.operation) && (e.holds || (duringHang(e, hungSince) && (wait === undefined || holdsConnections(e)))), held);
    // Nor do waits with a fraction of a statement's evidence name it: a query 240× slower that held only a
    // connection or two (its window fading as the fault ended) renamed the incident after a pool whose
    // waits never slowed beyond a few stray requests.
    const slower = statement === undefined && wait !== undefined ? heaviest(ops.values(), (e) => !isPoolWait(e.origin.operation) && duringHang(e, hungSince) && outweighs(e, wait), held) : undefined;
    // The operation holding the first hang is always one of them; the guard keeps a broken invariant out of the host.
    const named = statement ?? slower ?? wait;
    if (named !== undefined) this.origin = named.origin;
    // The pool's waits are the named statement's doing. A statement that hangs holding the pool (its calls
    // given up on, or taking a second or more when they answer) reads "Timeouts in" it, as its callers see
    // it, and the waits that got a connection only when it let go are the same hang, answered late. A
    // statement that is only slower keeps its latency, and so do the waits that gave up on it: 5 connections
    // behind a query 150× slower ran dry in seconds, while every query still answered in 250 ms.
    if (statement !== undefined && wait !== undefined) {
      const hung = statement.holds || statement.all.sum('timeout') > 0 || statement.answersInMs >= IN_FLIGHT_MIN_MS;
      const waits = hung ? 'timeout' : 'latency';
      statement.all.addAll(wait.all, waits);
      statement.live.addAll(wait.live, waits);
    }
    this.named = named;
    this.operations.clear();
  }

  /**
   * The kind with the most live evidence, else the most evidence. A peer makes no calls: call-pattern
   * evidence against it is its callers' requests that stopped before reaching it (it hung, or was slow),
   * and a traffic drop is its callers', so its calls' own errors, timeouts or latency, live or past, tell
   * what it did ("Timeouts in postgresql UPDATE orders", not "Call pattern change in" a statement): those
   * of the operation named first (an old BEGIN latency blip does not retitle an UPDATE that hangs now),
   * then the whole peer's. `held` is the kind the incident names for this operation so far, if it does.
   */
  kind(held?: AnomalyKind): AnomalyKind {
    // A failure outranks a traffic drop, its effect: one left live after the failure's evidence ended (its
    // callers stopped) does not retitle the incident "Traffic drop in" the operation that was failing.
    const t = this.live.size > 0 && (this.live.failure() || !this.all.failure()) ? this.live : this.all;
    if (!this.peer) return t.best(held, this.all.failure());
    const n = this.named;
    return (n !== undefined ? ownKind(n.live, n.all, held) : undefined) ?? ownKind(this.live, this.all, held) ?? t.best(held);
  }
}

/** The kind a call's own spans show most ({@link KindTally.bestOwn}) in the live evidence, else in all of it. */
function ownKind(live: KindTally, all: KindTally, held: AnomalyKind | undefined): AnomalyKind | undefined {
  return (live.size > 0 ? live : all).bestOwn(held) ?? all.bestOwn(held);
}

/** The evidence against one of a peer's operations in an incident. */
interface OperationEvidence {
  origin: RankedOrigin;
  sum: number;
  /** The requests behind it per second of their windows, summed over its anomalies. */
  rate: number;
  /** When it began: its earliest anomaly's first firing. */
  since: number;
  /** Its latest anomaly's last firing. */
  lastAt: number;
  /** When its calls began to hang (given up on, or a pool's waits); Infinity if they never did. */
  hungSince: number;
  /** Its calls' typical latency at worst (ms), from its own latency anomalies; 0 when none gives it. */
  answersInMs: number;
  /**
   * A pool's waits named it: its long calls held the connections they waited for (see
   * TraceContext.heldDuring). Seen from outside, only once they end: after the waits began.
   */
  holds: boolean;
  /** Its evidence per kind, all of it and that of anomalies still firing. */
  all: KindTally;
  live: KindTally;
}

/**
 * Whether a statement's evidence overlaps a peer's first hang, begun at `hungSince` (Infinity: none): it
 * began before {@link AFTERMATH_MS} after it, and ended no more than that before it.
 */
/**
 * The one of `ops` passing `eligible` with the most evidence (the first seen of equals); `held`, the
 * operation named so far, if eligible and no other {@link outweighs} it.
 */
function heaviest(ops: Iterable<OperationEvidence>, eligible: (e: OperationEvidence) => boolean, held: OperationEvidence | undefined): OperationEvidence | undefined {
  const keep = held !== undefined && eligible(held) ? held : undefined;
  let best = keep;
  for (const e of ops) {
    if (e === keep || !eligible(e) || (keep !== undefined && !outweighs(e, keep))) continue;
    if (best === undefined || best === keep || e.sum > best.sum) best = e;
  }
  return best;
}

/**
 * Moves the candidate the incident names (key `named`) back to the top of `ranked` unless one ranked above
 * it {@link displaces} it. Two operations of a service failing alike (every request of both, a database
 * down) score the same, and the ranking falls to how many requests each window held: the title flipped to
 * the other operation, and back, as their windows emptied at different rates after the fault ended.
 */
function keepNamed(ranked: Score[], named: string): void {
  const at = ranked.findIndex((c) => c.origin.key === named);
  if (at <= 0) return;
  const held = ranked[at];
  for (let i = 0; i < at; i++) {
    const c = ranked[i];
    if (c.all.failure() !== held.all.failure() || displaces(c, held)) return;
  }
  ranked.splice(at, 1);
  ranked.unshift(held);
}

/**
 * Whether `e` takes the name from `held`: more evidence, and more requests a second behind it or
 * {@link RENAME_MARGIN} times the evidence.
 */
function outweighs(e: OperationEvidence, held: OperationEvidence): boolean {
  return e.sum > held.sum && (e.rate > held.rate || e.sum > RENAME_MARGIN * held.sum);
}

/**
 * Whether candidate `c` takes the top from `held`, the one the incident names: {@link RENAME_MARGIN} times its
 * evidence (after the discount for few requests, {@link fewRequests}). Callees slowed alike by one fault (a
 * gateway's three, two of them slow because they call the third) score within a request or two of each other
 * per window, and any lead change retitled the incident, back and forth, as their windows re-fired.
 */
function displaces(c: Score, held: Score): boolean {
  return c.weighed() > RENAME_MARGIN * held.weighed();
}

/**
 * Whether a statement's calls can be what fills a pool: some of them hang (given up on), or, slowed, they
 * hold a connection or more on average (their requests a second times their typical latency at worst, from
 * its own latency anomalies: Little's law). A statement a few milliseconds slower, 3.7 ms at 20 a second,
 * holds a tenth of one, and one with no latency of its own in the incident none that it shows: the pool is
 * filled by something else (a route holding its connections, a leak). Named, such a statement retitled the
 * pool's incident after a statement 2.3× slower.
 */
function holdsConnections(e: OperationEvidence): boolean {
  return e.all.sum('timeout') > 0 || (e.rate * e.answersInMs) / 1000 >= 1;
}

function duringHang(e: OperationEvidence, hungSince: number): boolean {
  return hungSince === Infinity || (e.since - hungSince < AFTERMATH_MS && hungSince - e.lastAt < AFTERMATH_MS);
}

/** How far evidence resting on `support` requests (or detections) is to be trusted: 1/3 for one, 0.9 for 18. */
function fewRequests(support: number): number {
  return support / (support + 2);
}

/** Whether two anomalies are one symptom: the same signal of the same operation, with the same caller or callee. */
function sameSymptom(a: Anomaly, b: Anomaly): boolean {
  return a.signal === b.signal && a.service === b.service && a.operation === b.operation && sameRef(a.caller, b.caller) && sameRef(a.callee, b.callee);
}

function sameRef(a: OperationRef | undefined, b: OperationRef | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.service === b.service && a.operation === b.operation);
}

/** Counts `a` under its symptom (its operation's one kind of trouble), once per member. */
function setSymptom(rec: Record_, a: Anomaly): void {
  const key = symptomKey(a.service, a.operation, a.kind);
  const was = rec.symptomOf.get(a.id);
  if (was === key) return;
  if (was !== undefined) rec.symptoms.set(was, (rec.symptoms.get(was) as number) - 1);
  rec.symptomOf.set(a.id, key);
  rec.symptoms.set(key, (rec.symptoms.get(key) ?? 0) + 1);
}

/** Whether the incident is open with an episode still firing. */
function going(rec: Record_): boolean {
  return rec.incident.status !== 'resolved' && rec.active.size > 0;
}

/**
 * Whether episodes still firing keep an incident open: any of them, or in an incident with failures only
 * a failure (anything but a traffic drop).
 */
function keptOpen(rec: Record_): boolean {
  if (rec.lastFailedAt === undefined) return rec.active.size > 0;
  for (const id of rec.active) if (rec.anomalies.get(id)?.kind !== 'traffic') return true;
  return false;
}

const KIND_TITLE: Record<AnomalyKind, string> = {
  latency: 'Latency',
  errors: 'Errors',
  timeout: 'Timeouts',
  traffic: 'Traffic drop',
  shape: 'Call pattern change',
};

/**
 * `; 5 more of parse-api's operations fail the same way on their own`: the root's service's other operations
 * whose anomalies of the root's kind began in themselves, when two or more. A fault before the router (a
 * load-shedding 503 on every route), or a process short of CPU, is the service's, and the one operation the
 * incident names is only where it showed most.
 */
function alsoOwn(top: RankedOrigin, anomalies: readonly Anomaly[]): string {
  if (top.operation === null || (top.kind !== 'errors' && top.kind !== 'latency')) return '';
  const others = new Set<string>();
  for (const a of anomalies) {
    if (a.kind === top.kind && a.service === top.service && a.operation !== top.operation && a.cause.service === a.service && a.cause.operation === a.operation) others.add(a.operation ?? '');
  }
  if (others.size < 2) return '';
  return `; ${others.size} more of ${top.service}'s operations ${top.kind === 'errors' ? 'fail' : 'are slow'} the same way on their own`;
}

/** Kinds of evidence a caller shows of its callee's trouble: giving up on it, calling differently. */
function callerSide(kind: AnomalyKind): boolean {
  return kind === 'timeout' || kind === 'shape';
}

/** When an incident's fault began: its earliest anomaly's first firing. */
function onset(rec: Record_): number {
  let at = rec.incident.openedAt;
  for (const a of rec.anomalies.values()) if (a.firstAt < at) at = a.firstAt;
  return at;
}

function involves(inc: Incident, pred: (r: OperationRef) => boolean): boolean {
  return pred(inc.rootCause) || inc.affected.some(pred);
}

/** The incident's story as it stands, current until `until` (see {@link remember}). */
function storyOf(inc: Incident, until: number): IncidentStoryEntry {
  return { until, title: inc.title, kind: inc.rootCause.kind, severity: inc.severity, explanation: inc.rootCause.explanation };
}

/** Keeps an earlier story of the incident, bounded (the oldest go first, counted). */
function remember(inc: Incident, was: IncidentStoryEntry): void {
  const story = (inc.story ??= []);
  story.push(was);
  if (story.length > INCIDENT_STORY_MAX) {
    story.splice(0, story.length - INCIDENT_STORY_MAX);
    inc.storyDropped = (inc.storyDropped ?? 0) + 1;
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Incidents leave the manager as deep copies: callers may keep or mutate them freely. */
function copy(inc: Incident): Incident {
  return structuredClone(inc);
}
