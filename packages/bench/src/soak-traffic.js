import { Rng, shopTopology, simulate, simulateBatches } from '@rootspan/sim';
/** When things happen, as shares of the run: warm-up, fault A, the clock jump, fault B. */
export const TIMELINE = { faultA: [0.25, 0.4], jump: 0.5, faultB: [0.65, 0.8] };
/** The two faults of a run of `durationMs`: payment failing before the jump, checkout CPU-starved after it. */
export function soakFaults(durationMs) {
    const at = ([from, to]) => ({ fromMs: Math.round(from * durationMs), toMs: Math.round(to * durationMs) });
    const a = at(TIMELINE.faultA);
    const b = at(TIMELINE.faultB);
    return [
        { label: 'payment errors (100 %)', service: 'payment', ...a, fault: { type: 'errors', service: 'payment', operation: 'POST /payment', probability: 1, ...a } },
        { label: 'checkout CPU starved (8×)', service: 'checkout', ...b, fault: { type: 'cpu', service: 'checkout', multiplier: 8, ...b } },
    ];
}
export function soakScenario(durationMs, faults, baseRps) {
    return {
        name: 'soak',
        description: 'the shop under live load: payment errors, then a clock jump, then checkout CPU starvation',
        topology: shopTopology(),
        durationMs,
        seed: 1919,
        baseRps,
        faults: faults.map((f) => f.fault),
        truth: { faults: [], expectedIncidents: faults.length },
    };
}
/** Spans per request of the healthy shop, measured on a short simulation (so the rate holds whatever the topology). */
export function shopSpansPerRequest() {
    const rps = 100;
    const { spans } = simulate(soakScenario(20_000, [], rps));
    return spans.length / (20 * rps);
}
/** The shop's export batches from `startTime` on, in flush order. */
export function shopBatches(durationMs, faults, baseRps, startTime) {
    return simulateBatches(soakScenario(durationMs, faults, baseRps), { startTime });
}
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const PODS = ['api', 'web', 'edge', 'worker', 'gateway'];
/** Spans a pod sends before its replacement (a new random service name) takes over. */
const SPANS_PER_POD = 20;
/**
 * Cardinality explosion: one-span traces from services named after their pods (`api-7f3kq2`: a
 * `service.name` set from the hostname), named by their raw URL (`GET /search/qwhzmd?q=vbtr`: no
 * `http.route`, the usual cause). Every span name is new; letters only, so no id folding applies.
 */
export class Explosion {
    spansPerSecond;
    rng = new Rng(1919, 99);
    next = 0;
    pod = '';
    left = 0;
    constructor(spansPerSecond, start) {
        this.spansPerSecond = spansPerSecond;
        this.next = start;
    }
    word(n) {
        let s = '';
        for (let i = 0; i < n; i++)
            s += LETTERS[Math.floor(this.rng.next() * 26)];
        return s;
    }
    /** Spans that ended up to `until` (event ms) since the last call. */
    take(until) {
        const out = [];
        while (this.next < until) {
            if (this.left-- <= 0) {
                this.pod = `${PODS[Math.floor(this.rng.next() * PODS.length)]}-${this.word(6)}`;
                this.left = SPANS_PER_POD - 1;
            }
            const path = this.rng.next() < 0.5 ? `/search/${this.word(6)}?q=${this.word(4)}` : `/users/${this.word(8)}/cart`;
            const end = this.next;
            out.push({
                traceId: this.rng.traceId(),
                spanId: this.rng.spanId(),
                service: this.pod,
                name: `GET ${path}`,
                kind: 'server',
                startTime: end - 2 - 20 * this.rng.next(),
                endTime: end,
                status: 'unset',
                attributes: { 'http.request.method': 'GET', 'url.full': `http://shop.example${path}`, 'http.response.status_code': 200 },
            });
            this.next += this.rng.exponential(1000 / this.spansPerSecond);
        }
        return out;
    }
}
/** Copies of `spans` with every time moved by `ms` (a sender's clock after a jump). */
export function shifted(spans, ms) {
    if (ms === 0)
        return spans;
    return spans.map((s) => ({ ...s, startTime: s.startTime + ms, endTime: s.endTime + ms }));
}
//# sourceMappingURL=soak-traffic.js.map