/**
 * The soak's traffic: the simulated shop (`@rootspan/sim`) with two faults, one before and one after the
 * clock jump, plus a cardinality explosion (raw URLs as span names from services named after their pods,
 * a new random name every few spans), all stamped on the wall clock so the server sees live spans.
 */
import type { Span } from '@rootspan/engine';
import { type Fault, type Scenario, type SpanBatch } from '@rootspan/sim';
/** A fault of the soak and where its incident must come from; offsets are ms from the soak's start. */
export interface SoakFault {
    label: string;
    fault: Fault;
    /** The incident's expected root-cause service. */
    service: string;
    fromMs: number;
    toMs: number;
}
/** When things happen, as shares of the run: warm-up, fault A, the clock jump, fault B. */
export declare const TIMELINE: {
    readonly faultA: readonly [0.25, 0.4];
    readonly jump: 0.5;
    readonly faultB: readonly [0.65, 0.8];
};
/** The two faults of a run of `durationMs`: payment failing before the jump, checkout CPU-starved after it. */
export declare function soakFaults(durationMs: number): SoakFault[];
export declare function soakScenario(durationMs: number, faults: readonly SoakFault[], baseRps: number): Scenario;
/** Spans per request of the healthy shop, measured on a short simulation (so the rate holds whatever the topology). */
export declare function shopSpansPerRequest(): number;
/** The shop's export batches from `startTime` on, in flush order. */
export declare function shopBatches(durationMs: number, faults: readonly SoakFault[], baseRps: number, startTime: number): Generator<SpanBatch>;
/**
 * Cardinality explosion: one-span traces from services named after their pods (`api-7f3kq2`: a
 * `service.name` set from the hostname), named by their raw URL (`GET /search/qwhzmd?q=vbtr`: no
 * `http.route`, the usual cause). Every span name is new; letters only, so no id folding applies.
 */
export declare class Explosion {
    private readonly spansPerSecond;
    private readonly rng;
    private next;
    private pod;
    private left;
    constructor(spansPerSecond: number, start: number);
    private word;
    /** Spans that ended up to `until` (event ms) since the last call. */
    take(until: number): Span[];
}
/** Copies of `spans` with every time moved by `ms` (a sender's clock after a jump). */
export declare function shifted(spans: readonly Span[], ms: number): Span[];
