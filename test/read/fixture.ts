/**
 * A real store for the read path's tests: GNU tar archives a tree of many small files, a few
 * large random ones and a file of zeros (one chunk, repeated), dtar ingests it, and the
 * tests get the store opened and every body of the index, in order.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { brickKey } from '../../src/brick/format';
import { indexFileBytes } from '../../src/index/file';
import { readIndex } from '../../src/index/reader';
import type { BodyRef, ChunkRef } from '../../src/index/record';
import { Repository } from '../../src/repo/repository';
import { openBackend } from '../../src/store/open';
import { dtar, ok, testStore, TestStore } from '../support/dtar';

export interface ReadFixture {
  s: TestStore;
  repo: Repository;
  /** Every file's body, in archive order, with its path and contents. */
  files: { path: string; body: BodyRef; data: Buffer }[];
  /** Where the brick holding `chunk` is on disk. */
  brickFile(chunk: ChunkRef): string;
  cleanup(): Promise<void>;
}

export async function readFixture(): Promise<ReadFixture> {
  const s = await testStore();
  const src = join(s.dir, 'src');
  await mkdir(join(src, 'small'), { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < 300; i++) {
    const name = `small/f${String(i).padStart(3, '0')}`;
    await writeFile(join(src, name), `${name}\n`.repeat(1 + (i % 50)) + randomBytes(200 + i * 7).toString('hex'));
    names.push(name);
  }
  for (const [name, data] of [
    ['big1', randomBytes(3_000_000)],
    ['zeros', Buffer.alloc(9 * 1024 * 1024)],
    ['big2', randomBytes(1_500_000)],
  ] as const) {
    await writeFile(join(src, name), data);
    names.push(name);
  }
  execFileSync('tar', ['cf', join(s.dir, 'in.tar'), '-C', src, ...names]);
  ok(await dtar(['init'], { env: s.env }), 'init');
  ok(await dtar(['ingest', join(s.dir, 'in.tar'), '-o', join(s.dir, 'in.idx')], { env: s.env }), 'ingest');
  const repo = await Repository.open(openBackend(s.store), s.env.DTAR_PASSWORD!, null);
  const files: ReadFixture['files'] = [];
  for await (const item of readIndex(indexFileBytes(join(s.dir, 'in.idx')), 'in.idx', repo.indexAuth)) {
    if (item.kind === 'entry' && item.record) files.push({ path: item.header.path, body: item.record.body, data: await readFile(join(src, item.header.path)) });
  }
  return {
    s,
    repo,
    files,
    brickFile: (chunk) => join(s.store, ...brickKey(chunk.brick.toString('hex')).split('/')),
    cleanup: async () => {
      await repo.backend.close();
      await s.cleanup();
    },
  };
}
