/**
 * Faults by name, for the recorder: `cascading_failure` (a preset, on payment), `inventory:latency_spike`,
 * `payment:error`, `checkout:db`, `payment:deploy`, ... and what the ground truth says each one is.
 */
import { PRESETS, type Preset } from './chaos.js';
import type { Shop } from './shop.js';
import { DATABASES, FRAUD, isProcessName, type ProcessName } from './topology.js';

export const FAULT_KINDS = ['delay', 'error', 'timeout', 'intermittent', 'db', 'deploy', ...PRESETS] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The kind of root cause, as the eval's ground truth names it. */
export type TruthKind = 'latency' | 'errors' | 'timeout';

export interface FaultSpec {
  service: ProcessName;
  kind: FaultKind;
  /** The node rootspan should name: the service, or its database (`sqlite3`) for a lock. */
  rootCause: string;
  truthKind: TruthKind;
  /** Human description for the recording's ground truth. */
  description: string;
}

/** The version the deploy fault ships, and the share of requests its bug fails. */
export const DEPLOY_VERSION = '2.0.0';
const DEPLOY_BUG_RATE = 0.4;

/** Parameters of the plain chaos kinds. */
const PARAMS: Record<'delay' | 'error' | 'timeout' | 'intermittent' | 'db', Record<string, number>> = {
  delay: { duration: 800 },
  error: { rate: 0.5 },
  timeout: { duration: 30_000 },
  intermittent: { rate: 0.8, period: 20_000 },
  db: { duration: 400 },
};

const TRUTH_KIND: Record<FaultKind, TruthKind> = {
  delay: 'latency',
  error: 'errors',
  timeout: 'timeout',
  intermittent: 'errors',
  db: 'latency',
  deploy: 'errors',
  cascading_failure: 'errors',
  latency_spike: 'latency',
  error_storm: 'errors',
};

/** Parses `preset` or `service:kind`; throws an Error with the accepted forms. */
export function parseFault(text: string): FaultSpec {
  const [a, b] = text.split(':');
  const service = b === undefined ? 'payment' : a;
  const kind = b ?? a;
  const usage = `expected a preset (${PRESETS.join(', ')}; on payment) or service:kind with kind one of ${FAULT_KINDS.join(', ')}`;
  if (!isProcessName(service)) throw new Error(`unknown service '${service}' in --fault '${text}': ${usage}`);
  if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new Error(`unknown fault kind '${kind}' in --fault '${text}': ${usage}`);
  const k = kind as FaultKind;
  if (b === undefined && !(PRESETS as readonly string[]).includes(k)) throw new Error(`'${text}' needs a service (e.g. payment:${k}): ${usage}`);
  if (k === 'db' && DATABASES[service] === undefined) throw new Error(`${service} has no database (those with one: ${Object.keys(DATABASES).join(', ')})`);
  if (k === 'deploy' && service === FRAUD) throw new Error('the fraud service is not ours to deploy');
  const what =
    k === 'deploy'
      ? `${service} ${DEPLOY_VERSION} deployed with a bug failing ${DEPLOY_BUG_RATE * 100}% of its requests, then rolled back`
      : k === 'db'
        ? `${service}'s SQLite database write-locked ${PARAMS.db.duration} ms at a time`
        : `${k} on ${service}${k in PARAMS ? ` (${new URLSearchParams(Object.entries(PARAMS[k as keyof typeof PARAMS]).map(([p, v]): [string, string] => [p, String(v)]))})` : ''}`;
  return { service, kind: k, rootCause: k === 'db' ? 'sqlite3' : service, truthKind: TRUTH_KIND[k], description: what };
}

/** Turns the fault on. */
export async function injectFault(shop: Shop, f: FaultSpec): Promise<void> {
  if (f.kind === 'deploy') await shop.deploy(f.service, DEPLOY_VERSION, DEPLOY_BUG_RATE);
  else if ((PRESETS as readonly string[]).includes(f.kind)) await shop.chaos(f.service, `preset/${f.kind as Preset}`);
  else await shop.chaos(f.service, f.kind, PARAMS[f.kind as keyof typeof PARAMS]);
}

/** Turns it off (a deploy is rolled back to 1.0.0). */
export async function clearFault(shop: Shop, f: FaultSpec): Promise<void> {
  if (f.kind === 'deploy') await shop.deploy(f.service, '1.0.0');
  else await shop.chaos(f.service, 'clear');
}
