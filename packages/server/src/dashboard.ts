/**
 * The web dashboard (`@rootspan/dashboard`'s static bundle) at `/`. Files are listed once at start and only
 * those are served (no path from a request reaches the file system). The files hold no data: the page reads
 * the `/aiops` API, which keeps its own bearer token.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { dashboardDir } from '@rootspan/dashboard';
import { ALLOW_READ, sendError } from './http.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json; charset=utf-8',
};

interface Asset {
  body: Buffer;
  type: string;
}

/** Serves the dashboard's files; answers false for paths that are not its own. */
export class DashboardFiles {
  private readonly files = new Map<string, Asset>();

  constructor(dir: string = dashboardDir) {
    let names: string[] = [];
    try {
      names = readdirSync(dir, { recursive: true, encoding: 'utf8' });
    } catch {
      // Not built (a source checkout before `npm run build`): `/` says so.
    }
    for (const name of names) {
      const type = TYPES[extname(name)];
      if (type !== undefined) this.files.set(`/${name.split('\\').join('/')}`, { body: readFileSync(join(dir, name)), type });
    }
  }

  /** Answers `GET /` and the dashboard's assets. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const asset = this.files.get(path === '/' ? '/index.html' : path);
    if (asset === undefined) {
      if (path !== '/') return false;
      sendError(res, 503, 'the dashboard is not built: run `npm run build` (the API is under /aiops)');
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, 'use GET', { allow: ALLOW_READ });
      return true;
    }
    res.writeHead(200, {
      'content-type': asset.type,
      'content-length': asset.body.length,
      // The page is small and changes with every build; never served stale after an upgrade.
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      ...(asset.type.startsWith('text/html') ? { 'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:" } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
    return true;
  }
}
