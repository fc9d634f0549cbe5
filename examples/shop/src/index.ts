/**
 * The example shop as a library, for the demo, the recorder and the end-to-end test: start it, drive it,
 * break it, stop it.
 */
export { Shop, type ShopOptions, type IncidentLog, type AnomalyLog } from './shop.js';
export { LoadGenerator, type LoadOptions, type LoadStats } from './load.js';
export { SERVICES, PROCESSES, FRAUD, CALLS, type ServiceName, type ProcessName } from './topology.js';
export { PRESETS, type Preset } from './chaos.js';
