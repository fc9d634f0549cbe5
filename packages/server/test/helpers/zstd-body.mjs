// Run by Node.js 24 (`--experimental-transform-types`, see receiver.test.ts): the server's body reader on
// zstd bodies, which Node.js 20 cannot decompress. Prints what each request got, as JSON.
import './ts-sources.mjs';
import { createServer } from 'node:http';
import { constants, zstdCompressSync } from 'node:zlib';

const { BodyError, readBody } = await import('../../src/body.ts');

const LIMIT = 1 << 16;
const server = createServer(async (req, res) => {
  try {
    const body = await readBody(req, LIMIT);
    res.end(JSON.stringify({ status: 200, text: body.toString() }));
  } catch (err) {
    res.end(JSON.stringify({ status: err instanceof BodyError ? err.status : 500, error: err.message }));
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;
const post = async (body) => (await fetch(url, { method: 'POST', headers: { 'content-encoding': 'zstd' }, body })).json();
const text = `{"resourceSpans":[]}${' '.repeat(1000)}`;
const results = {
  ok: await post(zstdCompressSync(Buffer.from(text))),
  bomb: await post(zstdCompressSync(Buffer.alloc(4 << 20, 32))),
  corrupt: await post(Buffer.from('not zstd at all')),
  // A small frame whose decoding needs a 16 MiB window: refused at its header, before any output.
  wideWindow: await post(zstdCompressSync(Buffer.alloc(16 << 20, 32), { params: { [constants.ZSTD_c_windowLog]: 24 } })),
};
console.log(JSON.stringify({ text, results }));
server.close();
