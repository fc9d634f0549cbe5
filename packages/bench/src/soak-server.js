/**
 * The soak's side of the wire: `rootspan serve` forked with the clock preload, an OTLP/HTTP sender that
 * retries as exporters do, a webhook receiver for the notifications, and the calls that read the server.
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { encodeOtlpJson } from '@rootspan/otlp';
import { sleep } from './common.js';
/** Posts OTLP/JSON with a few requests in flight, retrying 429/503 (after Retry-After) and network errors, up to 5 attempts. */
export class Sender {
    url;
    statuses = new Map();
    spansSent = 0;
    spansRefused = 0;
    spansAbandoned = 0;
    inFlight = 0;
    queue = [];
    constructor(url) {
        this.url = url;
    }
    send(spans) {
        if (spans.length === 0)
            return;
        // A BatchSpanProcessor drops what does not fit its queue; so does this sender (2048 requests).
        if (this.queue.length >= 2048) {
            this.spansAbandoned += spans.length;
            return;
        }
        this.queue.push({ body: JSON.stringify(encodeOtlpJson(spans)), spans: spans.length });
        this.pump();
    }
    /** A request the server must refuse or partly reject: counted under its status, spans not counted as sent. */
    sendRaw(body) {
        this.queue.push({ body, spans: 0 });
        this.pump();
    }
    get pending() {
        return this.queue.length + this.inFlight;
    }
    pump() {
        while (this.inFlight < 4 && this.queue.length > 0) {
            const job = this.queue.shift();
            this.inFlight++;
            void this.post(job).finally(() => {
                this.inFlight--;
                this.pump();
            });
        }
    }
    count(key) {
        this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
    }
    async post(job) {
        for (let attempt = 1;; attempt++) {
            let status;
            let retryAfter = 1;
            try {
                const res = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: job.body, signal: AbortSignal.timeout(60_000) });
                await res.arrayBuffer();
                status = res.status;
                retryAfter = Number(res.headers.get('retry-after') ?? 1) || 1;
            }
            catch (err) {
                // A connection reset or a timeout: counted, and retried like a 503 (the exporters retry transient failures).
                const cause = err.cause;
                this.count(`error: ${cause?.code ?? cause?.message ?? err.message}`);
                if (attempt < 5) {
                    await sleep(1000);
                    continue;
                }
                this.spansRefused += job.spans;
                return;
            }
            this.count(status);
            if ((status === 429 || status === 503) && attempt < 5) {
                await sleep(Math.min(5, retryAfter) * 1000);
                continue;
            }
            if (status === 200)
                this.spansSent += job.spans;
            else
                this.spansRefused += job.spans;
            return;
        }
    }
}
/** Receives the server's webhook notifications: `incident.<event>` with the incident id, in arrival order. */
export function webhookReceiver() {
    const events = [];
    const server = createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (d) => (body += d));
        req.on('end', () => {
            try {
                const m = JSON.parse(body);
                events.push({ type: m.type, id: m.incident.id, bytes: body.length, at: Date.now() });
            }
            catch {
                events.push({ type: 'unreadable', id: '', bytes: body.length, at: Date.now() });
            }
            res.writeHead(204).end();
        });
    });
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}/hook`, events })));
}
/** Forks `rootspan serve --port 0` with the clock preload; resolves once it prints its URL. */
export function startServe(configPath) {
    const bin = fileURLToPath(new URL('../bin/rootspan.js', import.meta.resolve('rootspan')));
    const child = fork(bin, ['serve', '--port', '0', '--config', configPath], {
        execArgv: ['--expose-gc', '--import', new URL('./soak-clock.js', import.meta.url).href],
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const log = [];
    let out = '';
    child.stderr.setEncoding('utf8').on('data', (d) => log.push(...d.split('\n').filter((l) => l !== '')));
    return new Promise((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (d) => {
            out += d;
            const m = /listening on (http:\/\/\S+)/.exec(out);
            if (m)
                resolve({ child, url: m[1], log });
        });
        child.once('exit', (code) => reject(new Error(`rootspan serve exited (${code}) before listening: ${log.join('\n')}`)));
    });
}
/** How long the soak waits for the server to answer a sample or an API call before it counts it unanswered. */
export const PATIENCE_MS = 300_000;
export function memoryOf(child) {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            child.off('message', onMessage);
            reject(new Error(`no memory report within ${PATIENCE_MS / 1000} s`));
        }, PATIENCE_MS);
        const onMessage = (m) => {
            if (m.type !== 'memory')
                return;
            clearTimeout(timer);
            child.off('message', onMessage);
            resolve(m);
        };
        child.on('message', onMessage);
        child.send({ type: 'memory' });
    });
}
export async function getJson(url, init) {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(PATIENCE_MS) });
    if (!res.ok)
        throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${await res.text()}`);
    return (await res.json());
}
//# sourceMappingURL=soak-server.js.map