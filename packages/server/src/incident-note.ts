/**
 * The body of `POST /aiops/incidents/:id/acknowledge` and `.../resolve`: who did it and a word on it, both
 * optional. The prototype's names are read too (`resolved_by`, `acknowledged_by`, and `resolution` for the
 * note), so its clients keep working.
 */
import type { IncidentNote } from '@rootspan/engine';
import { HttpError } from './http.js';

/** Bytes such a body may have. */
export const NOTE_BODY_MAX = 16 * 1024;
const BY_MAX = 200;
const NOTE_MAX = 2000;

/** Each accepted field, by action, and what it fills. */
const FIELDS: Record<'acknowledge' | 'resolve', Readonly<Record<string, keyof IncidentNote>>> = {
  acknowledge: { by: 'by', note: 'note', acknowledged_by: 'by' },
  resolve: { by: 'by', note: 'note', resolved_by: 'by', resolution: 'note' },
};

/** The note a body gives (undefined for none: an empty body, `{}`); a {@link HttpError} 400 says what is wrong with a bad one. */
export function noteOf(body: Buffer, action: 'acknowledge' | 'resolve'): IncidentNote | undefined {
  const text = body.toString('utf8').trim();
  if (text === '') return undefined;
  const fields = FIELDS[action];
  const expected = `a JSON object such as {"by": "alice", "note": "rolled back 2.4.1"} (fields: ${Object.keys(fields).join(', ')})`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new HttpError(400, `the body is not JSON: send ${expected}, or no body`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new HttpError(400, `the body must be ${expected}`);
  const note: IncidentNote = {};
  for (const [key, value] of Object.entries(json)) {
    const field = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (field === undefined) throw new HttpError(400, `unknown field "${key}": the body must be ${expected}`);
    if (value === null) continue;
    if (typeof value !== 'string') throw new HttpError(400, `field "${key}" must be a string`);
    const given = value.trim();
    const max = field === 'by' ? BY_MAX : NOTE_MAX;
    if (given.length > max) throw new HttpError(400, `field "${key}" is ${given.length} characters long; at most ${max}`);
    if (given === '') continue;
    if (note[field] !== undefined && note[field] !== given) throw new HttpError(400, `two fields give the ${field === 'by' ? 'name' : 'note'}: send one`);
    note[field] = given;
  }
  return note.by === undefined && note.note === undefined ? undefined : note;
}
