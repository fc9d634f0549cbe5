import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from './errors.js';

/** Names of the trace files a directory is read for: the formats `rootspan analyze` reads, compressed too. */
const TRACE_FILE = /\.(?:jsonl|ndjson|json|pb|binpb|protobuf)(?:\.(?:gz|gzip|zst|zstd))?$/i;

/**
 * The inputs with each directory replaced by the trace files directly in it, in name order: the Collector
 * file exporter's rotated files (`traces-2026-11-30T12-00-00.000.jsonl`) sort before the one it is writing
 * (`traces.jsonl`), so a rotated set is read oldest first. Other inputs are kept as given.
 *
 * @throws InputError for a directory without a trace file
 */
export async function expandInputs(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    if (input === '-' || !(await isDirectory(input))) {
      out.push(input);
      continue;
    }
    const entries = await readdir(input, { withFileTypes: true });
    const files = entries.filter((e) => !e.isDirectory() && TRACE_FILE.test(e.name)).map((e) => e.name);
    if (files.length === 0) throw new InputError(`cannot read ${input}`, 'a directory without trace files (.jsonl, .json, .pb, gzip or zstd of them)');
    files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of files) out.push(join(input, name));
  }
  return out;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false; // reading it reports why
  }
}
