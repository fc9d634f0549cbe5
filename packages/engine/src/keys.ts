/**
 * Every string key the engine builds for its maps, in one place. The separators are control characters
 * that operation names built by the engine never contain, so two different pairs never share a key.
 */
import type { AnomalyKind, AnomalySignal, Incident } from './types.js';

/** Between service and operation in an operation key. */
const OP_SEP = '\u0001';
/** Between caller and callee service in an edge key. */
const EDGE_SEP = '\u0002';
/** Between the calling operation and the call name in a peer table's flat (snapshot) form. */
const CALLER_SEP = '\u0003';
/** Between the parts of an episode or figures key (the target key itself holds the other separators). */
const PART_SEP = '|';

/** Key of an operation in maps. */
export function opKey(service: string, operation: string): string {
  return `${service}${OP_SEP}${operation}`;
}

/** The service of an operation key. */
export function opKeyService(key: string): string {
  const i = key.indexOf(OP_SEP);
  return i < 0 ? key : key.slice(0, i);
}

/** The operation of an operation key (empty for a service-only key). */
export function opKeyOperation(key: string): string {
  const i = key.indexOf(OP_SEP);
  if (i < 0) return '';
  const j = key.indexOf(OP_SEP, i + 1);
  return j < 0 ? key.slice(i + 1) : key.slice(i + 1, j);
}

/** `service operation`, for people. */
export function opKeyLabel(key: string): string {
  return key.replace(OP_SEP, ' ');
}

/** Key of a caller service → callee service edge. */
export function edgeKey(caller: string, callee: string): string {
  return `${caller}${EDGE_SEP}${callee}`;
}

/** A call name as remembered from one calling operation, flattened for a snapshot. */
export function peerCallKey(callerKey: string, name: string): string {
  return `${callerKey}${CALLER_SEP}${name}`;
}

/** {@link peerCallKey} undone: `[callerKey, name]`, or `[undefined, key]` for a call name remembered alone. */
export function splitPeerCallKey(key: string): [string | undefined, string] {
  const i = key.indexOf(CALLER_SEP);
  return i < 0 ? [undefined, key] : [key.slice(0, i), key.slice(i + 1)];
}

/** Key of an anomaly episode: its target (operation or edge), its signal and, for call shape, the callee. */
export function episodeKey(targetKey: string, signal: AnomalySignal, callee?: string): string {
  return `${targetKey}${PART_SEP}${signal}${callee ? `${PART_SEP}${callee}` : ''}`;
}

/** Key of the root-cause figures saved for an operation and kind. */
export function figuresKey(opKeyValue: string, kind: AnomalyKind): string {
  return `${opKeyValue}${PART_SEP}${kind}`;
}

/** One operation's one kind of symptom. */
export function symptomKey(service: string, operation: string | null, kind: AnomalyKind): string {
  return `${opKey(service, operation ?? '')}${OP_SEP}${kind}`;
}

/** What an incident's subscribers see change: its severity and root cause. */
export function incidentHeadKey(inc: Pick<Incident, 'severity' | 'rootCause'>): string {
  const r = inc.rootCause;
  return `${inc.severity}${PART_SEP}${r.service}${PART_SEP}${r.operation}${PART_SEP}${r.kind}`;
}
