/**
 * Read-ahead inside one file, against a real store: a sequential reader gets the chunks
 * ahead of it fetched before it asks, and two readers of the same file whose reads arrive
 * interleaved (as the mount sees two programs reading one file) each keep theirs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Archive, loadArchive } from '../../src/archive/archive';
import { ChunkCache } from '../../src/archive/chunk-cache';
import { ContentReader } from '../../src/archive/content';
import { ChunkSource } from '../../src/read/chunks';
import { Repository } from '../../src/repo/repository';
import { openBackend } from '../../src/store/open';
import { dtar, ok, testStore, TestStore } from '../support/dtar';

const MiB = 1024 * 1024;
const SIZE = 24 * MiB;
const READ = 128 * 1024;
let s: TestStore;
let archive: Archive;
let repo: Repository;
let data: Buffer;

before(async () => {
  s = await testStore();
  const src = join(s.dir, 'src');
  await mkdir(src);
  data = randomBytes(SIZE);
  await writeFile(join(src, 'big'), data);
  execFileSync('tar', ['cf', join(s.dir, 'in.tar'), '-C', src, 'big']);
  ok(await dtar(['init'], { env: s.env }), 'init');
  ok(await dtar(['ingest', join(s.dir, 'in.tar'), '-o', join(s.dir, 'in.idx')], { env: s.env }), 'ingest');
  repo = await Repository.open(openBackend(s.store), s.env.DTAR_PASSWORD!, null);
  archive = await loadArchive(createReadStream(join(s.dir, 'in.idx')), { auth: repo.indexAuth });
});

after(async () => {
  await s?.cleanup();
});

/** A reader of the archive that notes every chunk it fetches, as brick:offset. */
function watched(): { files: ContentReader; fetched: Set<string> } {
  const chunks = archive.tree.tables.chunks;
  const source = new ChunkSource(repo.backend, repo.keys, { parallel: 4, threads: 0 });
  const fetched = new Set<string>();
  const fetchEach = source.fetchEach.bind(source);
  source.fetchEach = (hex, wanted) => {
    for (const c of wanted) fetched.add(`${hex}:${c.offset}`);
    return fetchEach(hex, wanted);
  };
  return { files: new ContentReader(archive.tree, new ChunkCache(chunks, source)), fetched };
}

/** The chunks holding bytes [from, to) of the file, as brick:offset. */
function rowsOf(from: number, to: number): string[] {
  const t = archive.tree.tables;
  const row = t.inodes.ref[archive.tree.resolve('big')!]!;
  const out: string[] = [];
  for (let k = t.contents.chunkStart[row]!; k < t.contents.chunkEnd[row]!; k++) {
    const start = t.chunks.bodyOffset[k]!;
    const b = t.chunks.brick[k]!;
    if (start < to && start + t.chunks.plainLength[k]! > from) out.push(`${t.chunks.bricks.toString('hex', b * 32, b * 32 + 32)}:${t.chunks.offset[k]!}`);
  }
  return out;
}

async function readAt(f: ReturnType<ContentReader['open']>, offset: number): Promise<void> {
  const buf = Buffer.alloc(READ);
  assert.equal(await f.read(offset, READ, buf), READ);
  assert.ok(buf.equals(data.subarray(offset, offset + READ)), `bytes at ${offset}`);
}

test('a sequential reader has the next chunks fetched before it asks for them', async () => {
  const { files, fetched } = watched();
  const f = files.open(archive.tree.resolve('big')!);
  await readAt(f, 0);
  for (const r of rowsOf(READ, 2 * MiB)) assert.ok(fetched.has(r), `chunk row ${r} fetched ahead`);
  assert.ok(rowsOf(8 * MiB, SIZE).every((r) => !fetched.has(r)), 'nothing far ahead yet');
});

test('two readers of one file, their reads interleaved, each keep their read-ahead', async () => {
  const { files, fetched } = watched();
  const f = files.open(archive.tree.resolve('big')!);
  const second = 14 * MiB;
  for (let k = 0; k < 3; k++) {
    await readAt(f, k * READ);
    await readAt(f, second + k * READ);
  }
  for (const r of rowsOf(3 * READ, 2 * MiB)) assert.ok(fetched.has(r), `first reader: chunk row ${r} fetched ahead`);
  for (const r of rowsOf(second + 3 * READ, second + 2 * MiB)) assert.ok(fetched.has(r), `second reader: chunk row ${r} fetched ahead`);
});
