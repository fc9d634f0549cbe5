/**
 * The host of the overhead benchmark: a small Express JSON API under a NodeSDK with HTTP and Express
 * instrumentation, as a user sets it up. One configuration per process (NodeSDK registers globals):
 *
 * - `none`: the user's exporter only, a no-op exporter behind a BatchSpanProcessor;
 * - `rootspan`: the same plus `rootspan().processor` with default options;
 * - `sqlite`: the same with `store: sqliteStore(...)` on a fresh file (removed at exit).
 *
 * Forked by host.ts; listens on 127.0.0.1 (random port), sends `{ port }`, answers `stats` with its
 * counters and CPU time, and exits on `stop` or when the parent goes away.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExportResultCode } from '@opentelemetry/core';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { rootspan } from '@rootspan/otel';
import { sqliteStore } from '@rootspan/sqlite';
/** Stands in for an OTLP exporter: accepts everything, sends nothing. */
class NoopExporter {
    spans = 0;
    export(spans, done) {
        this.spans += spans.length;
        done({ code: ExportResultCode.SUCCESS });
    }
    shutdown() {
        return Promise.resolve();
    }
    forceFlush() {
        return Promise.resolve();
    }
}
const config = process.argv[2];
if (config !== 'none' && config !== 'rootspan' && config !== 'sqlite')
    throw new Error(`host-server: unknown configuration '${String(process.argv[2])}'`);
const exporter = new NoopExporter();
const processors = [new BatchSpanProcessor(exporter)];
let processor;
const dbDir = config === 'sqlite' ? mkdtempSync(join(tmpdir(), 'rootspan-bench-')) : undefined;
if (config !== 'none') {
    processor = rootspan(dbDir ? { store: sqliteStore({ path: join(dbDir, 'rootspan.db') }) } : {}).processor;
    processors.push(processor);
}
const sdk = new NodeSDK({
    serviceName: 'bench-api',
    spanProcessors: processors,
    instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation()],
});
sdk.start();
// Required (not imported) after start(), so the instrumentations' require hooks patch them.
const require = createRequire(import.meta.url);
const express = require('express');
const PRODUCTS = Array.from({ length: 12 }, (_, i) => ({ id: i + 1, name: `product ${i + 1}`, price: 9.5 + i, stock: 100 - i }));
const app = express();
app.use(express.json());
app.get('/api/users/:id', (req, res) => {
    res.json({ id: req.params.id, name: `user ${req.params.id}`, plan: 'pro', active: true });
});
app.get('/api/products', (_req, res) => {
    res.json(PRODUCTS);
});
app.post('/api/orders', (req, res) => {
    const body = req.body;
    res.status(201).json({ id: 'o-1', productId: body.productId ?? 0, quantity: body.quantity ?? 1 });
});
const server = app.listen(0, '127.0.0.1', () => {
    process.send?.({ port: server.address().port });
});
function stats() {
    const s = processor?.stats();
    return {
        config,
        exported: exporter.spans,
        ...(s
            ? {
                rootspan: {
                    ingested: s.ingested,
                    pruned: s.pruned,
                    dropped: s.dropped,
                    queued: s.queued,
                    internalErrors: s.internalErrors,
                    operations: s.analyzer.operations,
                    incidents: s.analyzer.incidents.total,
                },
            }
            : {}),
        cpu: process.cpuUsage(),
        rss: process.memoryUsage.rss(),
        threads: threadCpu(),
    };
}
/** Linux's USER_HZ, the unit of /proc's CPU times: 100 on every mainstream architecture. */
const USER_HZ = 100;
/** Per-thread CPU from /proc/self/task (threads that already exited are not counted); undefined off Linux. */
function threadCpu() {
    try {
        let main = 0;
        let helpers = 0;
        for (const tid of readdirSync('/proc/self/task')) {
            const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
            // Fields after the parenthesised name: utime and stime are the 12th and 13th.
            const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
            const us = ((Number(f[11]) + Number(f[12])) * 1e6) / USER_HZ;
            if (Number(tid) === process.pid)
                main += us;
            else
                helpers += us;
        }
        return { main, helpers };
    }
    catch {
        return undefined;
    }
}
let stopping = false;
function stop() {
    if (stopping)
        return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    const done = () => {
        if (dbDir)
            rmSync(dbDir, { recursive: true, force: true });
        process.exit(0);
    };
    sdk.shutdown().then(done, done);
    setTimeout(done, 3000).unref();
}
process.on('message', (m) => {
    const type = m?.type;
    if (type === 'stats')
        process.send?.({ type: 'stats', stats: stats() });
    else if (type === 'stop')
        stop();
});
process.on('disconnect', stop);
//# sourceMappingURL=host-server.js.map