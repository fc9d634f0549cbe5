/**
 * CPU profiling of one section of code with V8's sampling profiler (the one behind `node --cpu-prof`),
 * through the inspector, so the profile covers exactly the section and not the set-up around it; and a
 * self-time summary with positions mapped back to the TypeScript sources through the dist source maps.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
/** Runs `fn` under the sampling profiler (`intervalUs` between samples) and returns its profile. */
export async function profile(fn, intervalUs = 200) {
    const session = new Session();
    session.connect();
    try {
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
        await session.post('Profiler.start');
        const value = fn();
        const { profile: p } = await session.post('Profiler.stop');
        return { value, profile: p };
    }
    finally {
        session.disconnect();
    }
}
const maps = new Map();
function sourceMapOf(file) {
    let m = maps.get(file);
    if (m !== undefined)
        return m;
    m = null;
    const mapFile = `${file}.map`;
    if (existsSync(mapFile)) {
        try {
            m = new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8')));
        }
        catch {
            m = null;
        }
    }
    maps.set(file, m);
    return m;
}
/** `packages/engine/src/trace/analyze.ts:93`, or the dist position when there is no map. */
function position(url, line0, col0, root) {
    if (url === '')
        return '';
    if (!url.startsWith('file:'))
        return url;
    const file = fileURLToPath(url);
    const map = sourceMapOf(file);
    if (map !== null) {
        const e = map.findEntry(line0, col0);
        if (e.originalSource !== undefined && e.originalLine !== undefined) {
            const src = e.originalSource.startsWith('file:') ? fileURLToPath(e.originalSource) : resolve(dirname(file), e.originalSource);
            return `${relative(root, src)}:${e.originalLine + 1}`;
        }
    }
    return `${relative(root, file)}:${line0 + 1}`;
}
/**
 * Self time per function (summed over call sites), largest first. `root` makes paths relative.
 * Also returns totals per area: GC, the engine, everything else.
 */
export function selfTime(p, root) {
    // A sample stands for the time until the next one (as DevTools counts it): timeDeltas[0] is the gap
    // between starting the profiler and the first sample, which belongs to no function of the section.
    const byNode = new Map();
    for (let i = 0; i + 1 < p.samples.length; i++)
        byNode.set(p.samples[i], (byNode.get(p.samples[i]) ?? 0) + (p.timeDeltas[i + 1] ?? 0));
    const byFn = new Map();
    const areas = {};
    let total = 0;
    for (const n of p.nodes) {
        const us = byNode.get(n.id) ?? 0;
        if (us === 0)
            continue;
        total += us;
        const cf = n.callFrame;
        const name = cf.functionName || (cf.url ? '(anonymous)' : '(native)');
        const where = position(cf.url, cf.lineNumber, cf.columnNumber, root);
        const key = `${name}\u0000${where}`;
        const cur = byFn.get(key);
        if (cur)
            cur.us += us;
        else
            byFn.set(key, { name, where, us });
        const area = name === '(garbage collector)' ? 'gc' : cf.url.includes('/packages/engine/') ? 'engine' : cf.url === '' ? 'native/V8' : 'other JS';
        areas[area] = (areas[area] ?? 0) + us / 1000;
    }
    const top = [...byFn.values()]
        .sort((a, b) => b.us - a.us)
        .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, share: total > 0 ? e.us / total : 0 }));
    return { top, totalMs: total / 1000, areas };
}
//# sourceMappingURL=profile.js.map