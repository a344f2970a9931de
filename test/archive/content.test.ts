/**
 * Reading file contents through the archive view, against a real store: bytes come back
 * right whether chunks are opened on worker threads or on this one, and files opened in
 * directory order (as tar, cp -a and diff -r do) get the following files fetched before
 * they are opened, while an open out of order fetches nothing ahead.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Archive, loadArchive } from '../../src/archive/archive';
import { ChunkCache } from '../../src/archive/chunk-cache';
import { ContentReader } from '../../src/archive/content';
import { BufferPool } from '../../src/read/buffer-pool';
import { ChunkSource } from '../../src/read/chunks';
import { Repository } from '../../src/repo/repository';
import { openBackend } from '../../src/store/open';
import { dtar, ok, testStore, TestStore } from '../support/dtar';

const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];
let s: TestStore;
let archive: Archive;
let repo: Repository;

before(async () => {
  s = await testStore();
  const src = join(s.dir, 'src');
  await mkdir(src);
  for (const n of NAMES) await writeFile(join(src, n), randomBytes(200_000 + NAMES.indexOf(n)));
  execFileSync('tar', ['cf', join(s.dir, 'in.tar'), '-C', src, ...NAMES]);
  ok(await dtar(['init'], { env: s.env }), 'init');
  ok(await dtar(['ingest', join(s.dir, 'in.tar'), '-o', join(s.dir, 'in.idx')], { env: s.env }), 'ingest');
  repo = await Repository.open(openBackend(s.store), s.env.DTAR_PASSWORD!, null);
  archive = await loadArchive(createReadStream(join(s.dir, 'in.idx')), { auth: repo.indexAuth });
});

after(async () => {
  await s?.cleanup();
});

/** A reader whose chunk cache can be watched: its size counts chunks held or being fetched. */
function watchedReader(): { files: ContentReader; cache: ChunkCache } {
  const chunks = archive.tree.tables.chunks;
  const cache = new ChunkCache(chunks, new ChunkSource(repo.backend, repo.keys, { parallel: 4, threads: 0 }));
  return { files: new ContentReader(archive.tree, cache), cache };
}

async function readAll(files: ContentReader, name: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of files.stream(archive.tree.resolve(name)!)) parts.push(b);
  return Buffer.concat(parts);
}

test('contents read back exactly, on worker threads and on this thread', async () => {
  for (const threads of [undefined, 0]) {
    const files = archive.contents(repo, { threads });
    for (const n of NAMES) assert.deepEqual(await readAll(files, n), await readFile(join(s.dir, 'src', n)));
  }
});

test('a cache too small for what is read at once still reads every byte right', async () => {
  const want = await Promise.all(NAMES.map((n) => readFile(join(s.dir, 'src', n))));
  // 100 kB holds no chunk; 450 kB holds two, so concurrent readers evict each other's chunks
  // between their fetch and their copy, and buffers are reused all the while.
  for (const cacheBytes of [100_000, 450_000]) {
    const files = archive.contents(repo, { cacheBytes });
    for (let round = 0; round < 3; round++) {
      const got = await Promise.all(NAMES.map((n) => readAll(files, n)));
      got.forEach((g, i) => assert.deepEqual(g, want[i], `${NAMES[i]}, cache ${cacheBytes}, round ${round}`));
    }
  }
});

test('plaintext buffers the cache lets go of are kept for the next chunks', async () => {
  const chunks = archive.tree.tables.chunks;
  const pool = new BufferPool();
  const source = new ChunkSource(repo.backend, repo.keys, { parallel: 4, threads: 2, plaintexts: pool });
  const cache = new ChunkCache(chunks, source, 450_000, pool);
  const files = new ContentReader(archive.tree, cache);
  for (const n of NAMES) assert.deepEqual(await readAll(files, n), await readFile(join(s.dir, 'src', n)));
  await source.close();
  assert.ok(pool.idleBytes > 0, 'evicted chunks gave their buffers back');
  assert.ok(cache.size + pool.idleBytes <= cache.maxBytes, `cache ${cache.size} + idle ${pool.idleBytes} within ${cache.maxBytes}`);
});

test('opening files in directory order fetches the next ones ahead', async () => {
  const { files, cache } = watchedReader();
  const ino = (n: string): number => archive.tree.resolve(n)!;
  files.open(ino('a'));
  assert.equal(cache.size, 0, 'one open is not yet a sweep');
  files.open(ino('b'));
  const ahead = archive.tree.stat(ino('c')).size + archive.tree.stat(ino('f')).size;
  assert.ok(cache.size >= ahead, `after a, b: ${cache.size} bytes fetched ahead, want c..f`);
});

test('an open out of directory order fetches nothing ahead', async () => {
  const { files, cache } = watchedReader();
  files.open(archive.tree.resolve('e')!);
  files.open(archive.tree.resolve('b')!);
  assert.equal(cache.size, 0);
});

test('following lists the later entries of the same directory in readdir order', () => {
  const t = archive.tree;
  assert.deepEqual([...t.following(t.resolve('c')!)], ['d', 'e', 'f'].map((n) => t.resolve(n)!));
  assert.deepEqual([...t.following(t.resolve('f')!)], []);
});
