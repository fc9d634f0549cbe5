/** The shop's services, who calls whom, and which own a database. */

/** The five instrumented services, each its own Node process with its own NodeSDK and rootspan. */
export const SERVICES = ['frontend', 'checkout', 'inventory', 'payment', 'shipping'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Another team's fraud-scoring service: a process without OpenTelemetry, seen only from payment's client spans. */
export const FRAUD = 'fraud';
export type ProcessName = ServiceName | typeof FRAUD;
export const PROCESSES: readonly ProcessName[] = [...SERVICES, FRAUD];

/** The services each one calls. */
export const CALLS: Record<ProcessName, readonly ProcessName[]> = {
  frontend: ['checkout', 'inventory'],
  checkout: ['inventory', 'payment', 'shipping'],
  inventory: [],
  payment: [FRAUD],
  shipping: [],
  fraud: [],
};

/** Services that own a SQLite database file (better-sqlite3), and its name. */
export const DATABASES: Partial<Record<ProcessName, string>> = {
  checkout: 'orders',
  inventory: 'stock',
  payment: 'payments',
};

/** Start order: every process starts after the ones it calls (their ports go into its environment). */
export const START_LEVELS: ReadonlyArray<readonly ProcessName[]> = [[FRAUD, 'inventory', 'shipping'], ['payment'], ['checkout'], ['frontend']];

export function isProcessName(s: string): s is ProcessName {
  return (PROCESSES as readonly string[]).includes(s);
}
