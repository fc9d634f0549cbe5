/** Server options: defaults filled in once, and a clear error naming the bad option (as a --config file would give it). */
import { describe, expect, it } from 'vitest';
import { CENTRAL_RESOLVE_AFTER_MS, resolveServerOptions, type ServerOptions } from '@rootspan/server';

describe('resolveServerOptions', () => {
  it('resolves incidents after the central quiet period unless the analyzer options say otherwise', () => {
    expect(resolveServerOptions().analyzer).toEqual({ resolveAfterMs: CENTRAL_RESOLVE_AFTER_MS });
    expect(resolveServerOptions({ analyzer: { bucketMs: 1000 } }).analyzer).toEqual({ resolveAfterMs: CENTRAL_RESOLVE_AFTER_MS, bucketMs: 1000 });
    expect(resolveServerOptions({ analyzer: { resolveAfterMs: 300_000 } }).analyzer.resolveAfterMs).toBe(300_000);
  });

  it('listens for OTLP/gRPC on 4317, on a free port when the HTTP port is free, or not at all', () => {
    expect(resolveServerOptions().grpcPort).toBe(4317);
    expect(resolveServerOptions({ port: 4000 }).grpcPort).toBe(4317);
    expect(resolveServerOptions({ port: 0 }).grpcPort).toBe(0);
    expect(resolveServerOptions({ port: 0, grpcPort: 5317 }).grpcPort).toBe(5317);
    expect(resolveServerOptions({ grpcPort: false }).grpcPort).toBeUndefined();
  });

  it('keeps valid delivery options as given (the notifier fills in the rest)', () => {
    expect(resolveServerOptions({ notify: { maxAttempts: 3, updateIntervalMs: 0 } }).notify).toEqual({ maxAttempts: 3, updateIntervalMs: 0 });
    expect(resolveServerOptions().notify).toEqual({});
  });

  it.each([
    [{ grpcPort: 70_000 }, /grpcPort must be a port from 0 to 65535 or false/],
    [{ grpcPort: true }, /grpcPort must be a port from 0 to 65535 or false/],
    [{ grpcPort: '4317' }, /grpcPort must be a port from 0 to 65535 or false/],
    [{ prot: 1 }, /unknown option prot/],
    [{ publicUrl: 'rootspan.example.com' }, /publicUrl must be an absolute http\(s\) URL/],
    [{ publicUrl: 'ftp://rootspan.example.com' }, /publicUrl must be an absolute http\(s\) URL/],
    [{ publicUrl: 'https://rootspan.example.com/?x=1' }, /without query or fragment/],
    [{ port: 70_000 }, /port must be at most 65535/],
    [{ port: -1 }, /port must be an integer >= 0/],
    [{ traceWaitMs: 'learn' }, /traceWaitMs must be an integer/],
    [{ token: '' }, /token must be a non-empty string/],
    [{ analyzer: 'fast' }, /analyzer must be an object/],
    [{ analyzer: [] }, /analyzer must be an object/],
    [{ notifications: {} }, /notifications must be an array/],
    [{ redact: { attributes: 'user.email' } }, /redact.attributes must be an array/],
    [{ sharedIncidents: true }, /sharedIncidents needs a store that lists incidents/],
    [{ notify: 5 }, /notify must be an object/],
    [{ notify: { retries: 3 } }, /unknown option notify.retries \(known: maxQueue, maxAttempts/],
    [{ notify: { maxAttempts: 0 } }, /notify.maxAttempts must be an integer >= 1, got 0/],
    [{ notify: { timeoutMs: '10s' } }, /notify.timeoutMs must be an integer >= 1, got "10s"/],
    [{ notify: { backoffMs: -1 } }, /notify.backoffMs must be an integer >= 0/],
  ])('refuses %j', (options, message) => {
    expect(() => resolveServerOptions(options as unknown as ServerOptions)).toThrow(message);
  });
});
