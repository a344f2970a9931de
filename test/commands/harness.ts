/**
 * A test store (test/support/dtar.ts) with one GNU tar archive of a small tree ingested, for
 * tests of everyday commands run in-process.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, open, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dtar, testStore, type TestStore } from '../support/dtar';

export interface Fixture extends TestStore {
  tree: string;
  tar: string;
  index: string;
}

/** A small tree with the entry kinds extract must handle. */
export async function buildTree(tree: string): Promise<void> {
  await mkdir(join(tree, 'dir/sub'), { recursive: true });
  await writeFile(join(tree, 'dir/hello.txt'), 'hello\n');
  await writeFile(join(tree, 'dir/sub/random.bin'), Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251)));
  await writeFile(join(tree, 'dir/exec.sh'), '#!/bin/sh\n', { mode: 0o755 });
  await symlink('hello.txt', join(tree, 'dir/link'));
  execFileSync('ln', [join(tree, 'dir/hello.txt'), join(tree, 'dir/hard')]);
  execFileSync('mkfifo', [join(tree, 'dir/fifo')]);
  const f = await open(join(tree, 'dir/sparse.bin'), 'w');
  await f.truncate(8 * 1024 * 1024);
  await f.write(Buffer.alloc(4096, 0x61), 0, 4096, 4 * 1024 * 1024);
  await f.close();
  execFileSync('touch', ['-h', '-d', '2001-02-03 04:05:06Z', join(tree, 'dir/hello.txt'), join(tree, 'dir/link'), join(tree, 'dir/sub'), join(tree, 'dir')]);
}

export async function makeFixture(): Promise<Fixture> {
  const s = await testStore('correct horse');
  const tree = join(s.dir, 'tree');
  await buildTree(tree);
  const tar = join(s.dir, 'a.tar');
  execFileSync('tar', ['--format=gnu', '-S', '-c', '-f', tar, '-C', tree, 'dir']);
  const index = join(s.dir, 'a.index.tar');
  for (const argv of [['init'], ['ingest', tar, '-o', index, '--name', 'small']]) {
    const r = await dtar(argv, { env: s.env, inProcess: true });
    if (r.code !== 0) throw new Error(`dtar ${argv.join(' ')}: ${r.stderr}`);
  }
  return { ...s, tree, tar, index };
}
