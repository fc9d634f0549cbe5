/** The JavaScript decoders behind `Content-Encoding: snappy`, `x-snappy-framed` and `lz4` (codecs/). */
import { readdirSync, readFileSync } from 'node:fs';
import { compress as snappyCompress } from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { lz4, xxh32 } from '../src/codecs/lz4.js';
import { OverLimit } from '../src/codecs/output.js';
import { crc32c, isSnappyFramed, snappy, snappyBlock, snappyFramed } from '../src/codecs/snappy.js';
import { snappyFramed as framed } from './helpers/snappy-framed.js';

const fixtures = new URL('./fixtures/codecs/', import.meta.url);
/** The OTLP/JSON request the `.lz4` fixtures hold (made by the reference `lz4` CLI 1.9.4 with the flags each is named for). */
const payload = readFileSync(new URL('otlp-150.json', fixtures));
const frames = readdirSync(fixtures).filter((f) => f.endsWith('.lz4'));
const LIMIT = 1 << 20;

describe('checksums', () => {
  it('CRC-32C and xxHash32 give their published check values', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(xxh32(Buffer.alloc(0))).toBe(0x02cc5d05);
    expect(xxh32(Buffer.from('abc'))).toBe(0x32d153ff);
  });
});

describe('lz4 frames', () => {
  it.each(frames)('decodes %s as the reference lz4 CLI wrote it', (name) => {
    expect(lz4(readFileSync(new URL(name, fixtures)), LIMIT).equals(payload)).toBe(true);
  });

  it('decodes frames one after another, skipping skippable frames', () => {
    const frame = readFileSync(new URL('default.lz4', fixtures));
    const skippable = Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    expect(lz4(Buffer.concat([frame, skippable, frame]), LIMIT).equals(Buffer.concat([payload, payload]))).toBe(true);
  });

  it('refuses output past the limit (413), corrupt data, checksums that do not match and preset dictionaries', () => {
    const frame = readFileSync(new URL('default.lz4', fixtures));
    expect(() => lz4(frame, payload.length - 1)).toThrow(OverLimit);
    // --content-size: refused from the header, before a block is decoded.
    expect(() => lz4(readFileSync(new URL('linked-64k-size.lz4', fixtures)), 1000)).toThrow(OverLimit);
    const flipped = Buffer.from(frame);
    flipped[frame.length - 20] ^= 0x55;
    expect(() => lz4(flipped, LIMIT)).toThrow(/checksum|offset|past|decoded/);
    const badDescriptor = Buffer.from(frame);
    badDescriptor[6] ^= 1; // the header checksum byte
    expect(() => lz4(badDescriptor, LIMIT)).toThrow(/descriptor checksum/);
    const dictionary = Buffer.from(frame);
    dictionary[4] |= 1;
    expect(() => lz4(dictionary, LIMIT)).toThrow(/dictionary/);
    expect(() => lz4(Buffer.from('not lz4 at all'), LIMIT)).toThrow(/not an LZ4 frame/);
    expect(() => lz4(frame.subarray(0, frame.length - 9), LIMIT)).toThrow(/truncated/);
    expect(() => lz4(Buffer.concat([frame, Buffer.from('xyzw')]), LIMIT)).toThrow(/after the last frame/);
  });
});

describe('snappy', () => {
  it('decodes a bare block (copies of every length and distance included) and a framed stream', () => {
    const block = Buffer.from(snappyCompress(payload));
    expect(block.length).toBeLessThan(payload.length / 3);
    expect(snappyBlock(block, LIMIT).equals(payload)).toBe(true);
    const stream = framed(payload);
    expect(isSnappyFramed(stream)).toBe(true);
    expect(snappyFramed(stream, LIMIT).equals(payload)).toBe(true);
    // `snappy` tells them apart, as the Collector's receiver does.
    expect(snappy(block, LIMIT).equals(payload)).toBe(true);
    expect(snappy(stream, LIMIT).equals(payload)).toBe(true);
    // Incompressible chunks are stored; padding chunks are skipped.
    const noise = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 2654435761) >>> 24));
    expect(snappyFramed(framed(noise, { padding: true }), LIMIT).equals(noise)).toBe(true);
    // Long literals (lengths in 1–4 extra bytes) and 4-byte-offset copies, written by hand.
    const literal = Buffer.alloc(300, 'a');
    const handMade = Buffer.concat([Buffer.from([0xb0, 0x02]), Buffer.from([61 << 2, 0x2b, 0x01]), literal, Buffer.from([(3 << 2) | 3, 0x2c, 0x01, 0, 0])]);
    expect(snappyBlock(handMade, LIMIT).equals(Buffer.concat([literal, literal.subarray(0, 4)]))).toBe(true);
  });

  it('refuses a block whose header passes the limit before allocating, corrupt blocks and bad checksums', () => {
    const block = Buffer.from(snappyCompress(payload));
    expect(() => snappyBlock(block, payload.length - 1)).toThrow(OverLimit);
    // A 5-byte block claiming 4 GiB.
    expect(() => snappyBlock(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), LIMIT)).toThrow(OverLimit);
    expect(() => snappyFramed(framed(payload), payload.length - 1)).toThrow(OverLimit);
    expect(() => snappyBlock(block.subarray(0, block.length - 10), LIMIT)).toThrow();
    // A copy reaching back before the start of the output.
    expect(() => snappyBlock(Buffer.from([8, 0x01 << 2 | 1, 0x09]), LIMIT)).toThrow(/offset/);
    const stream = framed(payload);
    const flipped = Buffer.from(stream);
    flipped[40] ^= 0x10;
    expect(() => snappyFramed(flipped, LIMIT)).toThrow();
    const reserved = Buffer.concat([stream.subarray(0, 10), Buffer.from([0x02, 0, 0, 0])]);
    expect(() => snappyFramed(reserved, LIMIT)).toThrow(/reserved unskippable/);
  });
});
