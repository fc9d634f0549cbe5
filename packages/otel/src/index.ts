/**
 * @rootspan/otel — rootspan as an OpenTelemetry SDK plugin. Add one SpanProcessor to your NodeSDK and get
 * anomaly detection, root-cause analysis and incidents in-process, next to (not instead of) your exporter.
 */
import type { Analyzer } from '@rootspan/engine';
import { RootspanSpanProcessor } from './processor.js';
import type { RootspanOptions } from './options.js';

export { RootspanSpanProcessor, type RootspanStats } from './processor.js';
export { RootspanSpanExporter } from './exporter.js';
export { toEngineSpan } from './map.js';
export type { PeersOption, PeerNames } from './peers.js';
export type { FinishedSpan, SpanEvent, SpanResource } from './sdk.js';
export { consoleIncidentLogger, incidentLogFields, type LevelLogger, type IncidentLogFields } from './logger.js';
export {
  DEFAULT_QUEUE_SIZE,
  DEFAULT_TICK_MS,
  DEFAULT_CLOCK_LAG_MS,
  DEFAULT_CALLBACK_QUEUE_SIZE,
  DEFAULT_CLOSE_TIMEOUT_MS,
  type RootspanOptions,
  type RootspanExporterOptions,
  type RootspanCommonOptions,
  type IncidentCallback,
  type AnomalyCallback,
  type RootspanStore,
} from './options.js';

/**
 * Creates a rootspan span processor and its analyzer.
 *
 * @example
 * const { processor, analyzer } = rootspan({ onIncident: consoleIncidentLogger() });
 * const sdk = new NodeSDK({
 *   spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter()), processor],
 *   instrumentations: [getNodeAutoInstrumentations()],
 * });
 * sdk.start();
 *
 * @param options callbacks, queue and clock settings, and any analyzer option (`bucketMs`, `errors`, ...);
 *   or `analyzer` to bring your own.
 * @throws TypeError naming the first bad option.
 */
export function rootspan(options: RootspanOptions = {}): { processor: RootspanSpanProcessor; analyzer: Analyzer } {
  const processor = new RootspanSpanProcessor(options);
  return { processor, analyzer: processor.analyzer };
}
