import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readOtlpFile } from '@rootspan/otlp';
import { InputError } from './errors.js';

/** Names of the trace files a directory is read for: the formats `rootspan analyze` reads, compressed too. */
const TRACE_FILE = /\.(?:jsonl|ndjson|json|pb|binpb|protobuf)(?:\.(?:gz|gzip|zst|zstd))?$/i;

/** Spans of a file's first batch, whose earliest end orders the files of a directory. */
const FIRST_SPANS = 1000;

/**
 * The inputs with each directory replaced by the trace files directly in it, in time order: by the earliest
 * end of the first spans each file holds, then by name. A directory of per-trace downloads (Jaeger's UI
 * names them by trace id) is read as the traces happened, not in the order of their ids, which made most
 * spans minutes late; the Collector file exporter's rotated files (`traces-2026-11-30T12-00-00.000.jsonl`)
 * come before the one it is writing (`traces.jsonl`). Only each file's first spans are read for this. A
 * file whose first spans cannot be read goes last (reading it reports why); an entry that is no file (a
 * FIFO, a link to nothing) is left out and told to `skipped`. Other inputs are kept as given.
 *
 * @throws InputError for a directory without a trace file
 */
export async function expandInputs(inputs: readonly string[], skipped: (path: string, why: string) => void): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    if (input === '-' || !(await isDirectory(input))) {
      out.push(input);
      continue;
    }
    const entries = await readdir(input, { withFileTypes: true });
    const paths: string[] = [];
    for (const e of entries) {
      if (e.isDirectory() || !TRACE_FILE.test(e.name)) continue;
      const path = join(input, e.name);
      // Only files: a FIFO in the directory blocked the run forever, and a dangling link ended it.
      const why = await notAFile(path);
      if (why === undefined) paths.push(path);
      else skipped(path, why);
    }
    if (paths.length === 0) throw new InputError(`cannot read ${input}`, 'a directory without trace files (.jsonl, .json, .pb, gzip or zstd of them)');
    const starts = new Map<string, number>();
    for (const path of paths) starts.set(path, await firstEnd(path));
    paths.sort((a, b) => (starts.get(a) as number) - (starts.get(b) as number) || (a < b ? -1 : a > b ? 1 : 0));
    out.push(...paths);
  }
  return out;
}

/** The earliest end time of the first spans in a trace file; Infinity when it has none that can be read. */
async function firstEnd(path: string): Promise<number> {
  let earliest = Infinity;
  try {
    for await (const batch of readOtlpFile(path, { batchSize: FIRST_SPANS })) {
      for (const span of batch.spans) if (span.endTime < earliest) earliest = span.endTime;
      if (batch.spans.length > 0) break;
    }
  } catch {
    // Reading it for the analysis reports why.
  }
  return earliest;
}

/** Why `path` (a link followed) is no file to read: undefined when it is one. */
async function notAFile(path: string): Promise<string | undefined> {
  try {
    return (await stat(path)).isFile() ? undefined : 'not a regular file (a FIFO, socket or device)';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'a link to nothing' : (err as Error).message;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false; // reading it reports why
  }
}
