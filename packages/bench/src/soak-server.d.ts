/**
 * The soak's side of the wire: `rootspan serve` forked with the clock preload, an OTLP/HTTP sender that
 * retries as exporters do, a webhook receiver for the notifications, and the calls that read the server.
 */
import { type ChildProcess } from 'node:child_process';
import { type Server } from 'node:http';
import type { Span } from '@rootspan/engine';
import type { MemoryReport } from './soak-clock.js';
/** Posts OTLP/JSON with a few requests in flight, retrying 429/503 (after Retry-After) and network errors, up to 5 attempts. */
export declare class Sender {
    private readonly url;
    readonly statuses: Map<string | number, number>;
    spansSent: number;
    spansRefused: number;
    spansAbandoned: number;
    private inFlight;
    private readonly queue;
    constructor(url: string);
    send(spans: readonly Span[]): void;
    /** A request the server must refuse or partly reject: counted under its status, spans not counted as sent. */
    sendRaw(body: string): void;
    get pending(): number;
    private pump;
    private count;
    private post;
}
/** One notification the webhook received: its type (`incident.opened`, ...), incident id, size and arrival (epoch ms). */
export interface NotificationSeen {
    type: string;
    id: string;
    bytes: number;
    at: number;
}
/** Receives the server's webhook notifications: `incident.<event>` with the incident id, in arrival order. */
export declare function webhookReceiver(): Promise<{
    server: Server;
    url: string;
    events: NotificationSeen[];
}>;
/** Forks `rootspan serve --port 0` with the clock preload; resolves once it prints its URL. */
export declare function startServe(configPath: string): Promise<{
    child: ChildProcess;
    url: string;
    log: string[];
}>;
/** How long the soak waits for the server to answer a sample or an API call before it counts it unanswered. */
export declare const PATIENCE_MS = 300000;
export declare function memoryOf(child: ChildProcess): Promise<MemoryReport>;
export declare function getJson<T>(url: string, init?: RequestInit): Promise<T>;
export interface Status {
    ingest: {
        spansReceived: number;
        spansAccepted: number;
        spansDropped: number;
        requests: Record<string, number>;
    };
    drops: Record<string, number>;
    queue: {
        spans: number;
        traceWaitMs: number;
        bufferedTraces: number;
    };
    incidents: {
        active: number;
        total: number;
    };
    eventTime: string | null;
}
