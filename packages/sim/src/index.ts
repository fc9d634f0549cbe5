/**
 * @rootspan/sim: a deterministic, seeded microservice trace simulator and a fault-scenario catalogue
 * with ground truth, for scoring rootspan's detection (`npm run eval`), benchmarks and the demo.
 */
export { simulate, simulateBatches, shiftTruth, SIM_EPOCH, DEFAULT_SWELL } from './simulate.js';
export { SCENARIOS, scenarioByName } from './scenarios.js';
export { shopTopology, mediaTopology, bankTopology, boutiqueTopology, ticketTopology, ln } from './topologies.js';
export { FOREIGN_SCENARIOS } from './foreign-scenarios.js';
export { rpcMethod } from './foreign.js';
export { Rng } from './random.js';
export type * from './types.js';
