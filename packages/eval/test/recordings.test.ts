import { describe, expect, it } from 'vitest';
import { listRecordings, readTruth, runRecording } from '../src/index.js';

const recordings = listRecordings();

describe('recordings of the example shop', () => {
  it('are present, each with a fault inside its time span, or healthy throughout (`--fault none`)', () => {
    expect(recordings.length).toBeGreaterThanOrEqual(3);
    expect(recordings.filter((dir) => readTruth(dir).faults.length === 0).length).toBeGreaterThanOrEqual(1);
    for (const dir of recordings) {
      const t = readTruth(dir);
      expect(t.expectedIncidents, dir).toBe(t.faults.length);
      if (t.faults.length === 0) continue;
      expect(t.faults.length, dir).toBe(1);
      const [f] = t.faults;
      expect(f.startMs, dir).toBeGreaterThan(t.startMs);
      expect(f.endMs, dir).toBeGreaterThan(f.startMs);
      expect(f.endMs, dir).toBeLessThan(t.endMs);
    }
  });

  it.each(recordings.map((d) => [d.split('/').at(-1)!, d]))('%s: every exported span is read back and analysed', async (_name, dir) => {
    const truth = readTruth(dir);
    const r = await runRecording(dir);
    expect(r.error).toBeUndefined();
    // The recorder counted the spans the SDKs exported; the CLI must read every one of them.
    expect(r.spans).toBe(truth.spans);
    expect(r.score.faults).toHaveLength(truth.faults.length);
    if (truth.faults.length === 0) expect(r.incidents).toEqual([]);
  });

  // The same traces as a tracer without status, kind or attributes emits them (see stripOtlpLines):
  // found from timing and call shape alone, each fault as one incident naming it (or the call showing it).
  it.each(recordings.map((d) => [d.split('/').at(-1)!, d]))('%s, foreign copy: named first, one incident, none false (healthy: none at all)', async (_name, dir) => {
    const r = await runRecording(dir, true);
    expect(r.error).toBeUndefined();
    expect(r.score.falseIncidents).toBe(0);
    if (readTruth(dir).faults.length === 0) {
      expect(r.incidents).toEqual([]);
      return;
    }
    expect(r.score.ac1, JSON.stringify(r.score.faults[0].got)).toBe(true);
    expect(r.score.oneIncidentPerFault).toBe(true);
  });
});
