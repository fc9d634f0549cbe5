/**
 * A minimal OTLP/HTTP trace receiver for the recorder: `POST /v1/traces` with an OTLP/JSON body (as
 * `@opentelemetry/exporter-trace-otlp-http` sends it, optionally gzip-encoded), each request written as
 * one line of the Collector file exporter's format to a gzip-compressed file. Listens on 127.0.0.1 only.
 */
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { finished } from 'node:stream/promises';
import { createGzip, gunzipSync } from 'node:zlib';

/** Bodies larger than this are refused (413): the SDK's batches are far smaller. */
const MAX_BODY_BYTES = 32 << 20;

export interface Collector {
  /** Base URL to give exporters as `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  url: string;
  /** Spans received so far. */
  spans(): number;
  /** Stops listening and finishes the file. */
  close(): Promise<void>;
}

function countSpans(req: { resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: unknown[] }> }> }): number {
  let n = 0;
  for (const rs of req.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) n += ss.spans?.length ?? 0;
  return n;
}

/** Starts a receiver writing OTLP/JSON lines to `file` (gzip). */
export async function startCollector(file: string): Promise<Collector> {
  const gzip = createGzip();
  const done = finished(gzip.pipe(createWriteStream(file)));
  let spans = 0;
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== '/v1/traces') return reply(404, { error: 'only POST /v1/traces' });
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return reply(415, { error: 'only OTLP/JSON (application/json)' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      try {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const parsed = JSON.parse(body.toString('utf8')) as Parameters<typeof countSpans>[0];
        spans += countSpans(parsed);
        // Re-serialised so every request is exactly one line.
        gzip.write(`${JSON.stringify(parsed)}\n`);
        reply(200, {});
      } catch (e) {
        reply(400, { error: `undecodable OTLP/JSON body: ${(e as Error).message}` });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let closing: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans: () => spans,
    close() {
      closing ??= new Promise<void>((resolve) => server.close(() => resolve())).then(() => {
        gzip.end();
        return done;
      });
      return closing;
    },
  };
}
