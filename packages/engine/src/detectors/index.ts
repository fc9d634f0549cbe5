/** Anomaly detectors: each judges a window against a learned baseline and learns only normal windows. */
export { quiet, type Verdict } from './verdict.js';
export { LatencyDetector, latencySeverity, logWindowOf, type LogWindow } from './latency.js';
export { ErrorRateDetector, errorSeverity } from './errors.js';
export { TrafficDetector, trafficSeverity, type TrafficVerdict } from './traffic.js';
export { TimeoutDetector, timeoutSeverity } from './timeout.js';
export { CallShapeDetector, type ShapeVerdict } from './shape.js';
