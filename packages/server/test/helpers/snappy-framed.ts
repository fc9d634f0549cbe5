import { compress } from 'snappyjs';
import { crc32c } from '../../src/codecs/snappy.js';

/**
 * `data` in Snappy's framing format as Go's `snappy.NewBufferedWriter` (the Collector's) writes it: the
 * stream identifier, then chunks of at most 64 KiB, each compressed (or stored when that does not pay)
 * after its masked CRC-32C; with `padding`, a padding chunk after each.
 */
export function snappyFramed(data: Uint8Array, { padding = false } = {}): Buffer {
  const parts: Buffer[] = [Buffer.from([0xff, 6, 0, 0, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59])];
  for (let i = 0; i < data.length; i += 65536) {
    const chunk = data.subarray(i, i + 65536);
    const packed = Buffer.from(compress(chunk));
    const stored = packed.length >= chunk.length;
    const body = stored ? Buffer.from(chunk) : packed;
    const crc = crc32c(chunk);
    const header = Buffer.alloc(8);
    header[0] = stored ? 1 : 0;
    header.writeUIntLE(body.length + 4, 1, 3);
    header.writeUInt32LE((((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0, 4);
    parts.push(header, body);
    if (padding) parts.push(Buffer.from([0xfe, 3, 0, 0, 0, 0, 0]));
  }
  return Buffer.concat(parts);
}
