/**
 * Sizes past what ustar can say: a body over 8 GiB with a base-256 size field (GNU), and a
 * body sized by a PAX `size` record. The archives are generated as streams (nothing of
 * 8 GiB touches the disk) and the restored output is compared by SHA-256 as it streams.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeHeader, paddingFor, paxHeaderBlocks } from '../../src/tar/header';
import { DTAR_ARGV, dtar, ok, testStore, TestStore } from '../support/dtar';

const GIB = 1024 ** 3;

/** Header, then `size` bytes of a repeating pattern, padding, end-of-archive; hashed as generated. */
async function* archive(head: Buffer, size: number, digest: (hex: string) => void): AsyncGenerator<Buffer> {
  const h = createHash('sha256');
  const out = (b: Buffer): Buffer => (h.update(b), b);
  yield out(head);
  const block = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < block.length; i += 8) block.writeUInt32LE(i % 4096, i); // compresses, dedups
  for (let left = size; left > 0; left -= block.length) yield out(left >= block.length ? block : block.subarray(0, left));
  yield out(Buffer.alloc(paddingFor(size) + 1024));
  digest(h.digest('hex'));
}

function ingestStream(s: TestStore, index: string, source: AsyncIterable<Buffer>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...DTAR_ARGV, 'ingest', '-q', '-o', index], { env: s.env, stdio: ['pipe', 'ignore', 'inherit'] });
    Readable.from(source).pipe(child.stdin);
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? -1));
  });
}

function restoreDigest(s: TestStore, index: string): Promise<{ code: number; sha: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...DTAR_ARGV, 'restore', '-q', index], { env: s.env, stdio: ['ignore', 'pipe', 'inherit'] });
    const h = createHash('sha256');
    let bytes = 0;
    child.stdout.on('data', (b: Buffer) => {
      h.update(b);
      bytes += b.length;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, sha: h.digest('hex'), bytes }));
  });
}

let s: TestStore;
before(async () => {
  s = await testStore();
  ok(await dtar(['init'], { env: s.env }), 'init');
});
after(() => s.cleanup());

test('a file over 8 GiB with a base-256 size restores byte for byte', { timeout: 15 * 60 * 1000 }, async () => {
  const size = 8 * GIB + 1;
  const head = encodeHeader({ name: 'big.bin', size, mode: 0o644, mtime: 1_700_000_000 });
  assert.equal(head[124], 0x80, 'the size field is base-256');
  let want = '';
  const index = join(s.dir, 'big.idx');
  assert.equal(await ingestStream(s, index, archive(head, size, (d) => (want = d))), 0);
  const got = await restoreDigest(s, index);
  assert.equal(got.code, 0);
  assert.equal(got.bytes, 512 + size + paddingFor(size) + 1024);
  assert.equal(got.sha, want);
  const listing = ok(await dtar(['ls', '-l', index], { env: s.env }), 'ls').stdout.toString();
  assert.match(listing, new RegExp(`\\b${size}\\b`), 'ls shows the real size');
});

test('a body sized by a PAX size record restores byte for byte', async () => {
  const size = 3 * 1024 * 1024 + 17;
  const head = Buffer.concat([paxHeaderBlocks([['size', Buffer.from(String(size))]], 'PaxHeaders/paxsized'), encodeHeader({ name: 'paxsized.bin', size: 0, mode: 0o600 })]);
  let want = '';
  const index = join(s.dir, 'pax.idx');
  assert.equal(await ingestStream(s, index, archive(head, size, (d) => (want = d))), 0);
  const got = await restoreDigest(s, index);
  assert.equal(got.code, 0);
  assert.equal(got.sha, want);
});
