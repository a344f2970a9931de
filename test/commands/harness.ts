/**
 * Running dtar commands in-process for tests: an Io that captures stdout and stderr, and a
 * fresh store in a temp directory with one GNU tar archive of a small tree ingested.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, open, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { run } from '../../src/cli/main';
import { silentProgress } from '../../src/cli/progress';
import type { Io } from '../../src/commands/context';
import { makeTempDir, TempDir } from '../support/tmp';
import { FAST_KDF } from '../support/dtar';

export interface Result {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export async function dtar(env: NodeJS.ProcessEnv, ...argv: string[]): Promise<Result> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const sink = (into: Buffer[]): Writable =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        into.push(Buffer.from(chunk));
        cb();
      },
    });
  const io: Io = {
    stdin: Readable.from([]),
    stdout: sink(out),
    stderr: sink(err),
    env,
    stdinIsTTY: false,
    stdoutIsTTY: false,
    askHidden: () => Promise.reject(new Error('no terminal in tests')),
    progress: () => silentProgress,
  };
  const code = await run(argv, io);
  return { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() };
}

export interface Fixture {
  tmp: TempDir;
  env: NodeJS.ProcessEnv;
  store: string;
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

export async function makeFixture(label: string): Promise<Fixture> {
  const tmp = await makeTempDir(label);
  const store = join(tmp.path, 'store');
  const env: NodeJS.ProcessEnv = { DTAR_PASSWORD: 'correct horse', DTAR_STORE: store, XDG_CACHE_HOME: join(tmp.path, 'cache'), HOME: tmp.path, ...FAST_KDF };
  const tree = join(tmp.path, 'tree');
  await buildTree(tree);
  const tar = join(tmp.path, 'a.tar');
  execFileSync('tar', ['--format=gnu', '-S', '-c', '-f', tar, '-C', tree, 'dir']);
  const index = join(tmp.path, 'a.index.tar');
  for (const argv of [['init'], ['ingest', tar, '-o', index, '--name', 'small']]) {
    const r = await dtar(env, ...argv);
    if (r.code !== 0) throw new Error(`dtar ${argv.join(' ')}: ${r.stderr}`);
  }
  return { tmp, env, store, tree, tar, index };
}
