/**
 * @rootspan/postgres — a PostgreSQL store for `@rootspan/server`: several receivers behind a load balancer
 * routing by trace id share one database, and their incidents with the same root cause merge into one.
 */
export { PostgresStore } from './store.js';
export type { PostgresStoreOptions, MergedQuery, IncidentChange } from './store.js';
export { mergeIncidents, rootKey } from './merge.js';
export type { MergedIncident, StoredIncident } from './merge.js';
