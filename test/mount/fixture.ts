/**
 * The tree mount tests compare against, archived with GNU tar and ingested into a store
 * with small chunks and 1 MiB bricks (so one file spans several bricks), plus helpers to
 * run `dtar mount` as a child process and always take its mount down again.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Repository } from '../../src/repo/repository';
import { LocalBackend } from '../../src/store/local';
import { DTAR_ARGV, dtar, testStore, TestStore } from '../support/dtar';

export const sh = promisify(execFile);

export const LONG_DIR = 'd'.repeat(120);
export const LONG_FILE = 'f'.repeat(200);

export interface Fixture extends TestStore {
  src: string;
  index: string;
}

/** Builds the source tree, its tar (posix format, xattrs, sparse) and the index. */
export async function buildFixture(): Promise<Fixture> {
  const t = await testStore();
  const src = join(t.dir, 'src');
  await mkdir(join(src, 'dir/sub'), { recursive: true });
  await mkdir(join(src, LONG_DIR), { recursive: true });
  await writeFile(join(src, 'small.txt'), 'hello\n');
  await writeFile(join(src, 'empty'), '');
  await writeFile(join(src, 'big.bin'), randomBytes(3 * 1024 * 1024));
  await writeFile(join(src, 'dir/sub/deep.txt'), 'deep\n'.repeat(1000));
  await writeFile(join(src, 'hard1'), 'linked content\n');
  await writeFile(join(src, `${LONG_DIR}/${LONG_FILE}`), 'long name\n');
  await writeFile(join(src, 'secret'), 'private\n', { mode: 0o600 });
  await mkdir(join(src, 'private'), { mode: 0o700 });
  await writeFile(join(src, 'private/inside.txt'), 'readable, in an unreadable directory\n', { mode: 0o644 });
  const s = (cmd: string): Promise<unknown> => sh('sh', ['-c', cmd], { cwd: src });
  await s('ln hard1 dir/hard2 && ln -s small.txt link && ln -s /nonexistent/target dir/dangling && mkfifo fifo');
  await s('chmod 0755 dir/sub && chmod 4711 small.txt && chown 1234:5678 secret');
  // A sparse file: 8 MiB with two data islands and data at its very end.
  await s('truncate -s 8M sparse.img && head -c 65536 /dev/urandom | dd of=sparse.img bs=1 seek=1048576 conv=notrunc status=none');
  await s('head -c 5000 /dev/urandom | dd of=sparse.img bs=1 seek=6000000 conv=notrunc status=none');
  await s('printf end | dd of=sparse.img bs=1 seek=8388605 conv=notrunc status=none');
  await s('setfattr -n user.color -v blue small.txt && setfattr -n user.kind -v directory dir && touch -d 2001-02-03T04:05:06 dir/sub/deep.txt');
  const tar = join(t.dir, 'src.tar');
  await sh('tar', ['--xattrs', '--format=posix', '-S', '-cf', tar, '-C', src, '.']);
  // Small chunks and bricks, so that big.bin spans several bricks.
  const repo = await Repository.init(new LocalBackend(t.store), t.env.DTAR_PASSWORD!, { chunker: { min: 16384, avg: 65536, max: 262144 }, brickSize: 1024 * 1024 }, null);
  await repo.backend.close();
  const index = join(t.dir, 'src.idx');
  const r = await dtar(['ingest', '-q', tar, '-o', index], { env: t.env });
  if (r.code !== 0) throw new Error(`ingest failed: ${r.stderr}`);
  return { ...t, src, index };
}

export async function isMountpoint(dir: string): Promise<boolean> {
  try {
    await sh('mountpoint', ['-q', dir]);
    return true;
  } catch {
    return false;
  }
}

export interface RunningMount {
  child: ChildProcess;
  dir: string;
  stderr(): string;
  /** Resolves with the exit code once the process is gone. */
  exited: Promise<number | null>;
  /** SIGTERM, wait for exit, and a lazy fusermount in case anything was left behind. */
  stop(): Promise<void>;
}

/** Runs `dtar mount INDEX DIR ...` (without an index: the whole store) and waits until it says DIR is mounted. */
export async function startMount(f: { env: NodeJS.ProcessEnv; index?: string }, dir: string, extra: string[] = []): Promise<RunningMount> {
  await mkdir(dir, { recursive: true });
  const what = f.index === undefined ? [dir] : [f.index, dir];
  const child = spawn(process.execPath, [...DTAR_ARGV, 'mount', ...what, ...extra], { env: f.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // dtar prints "mounted ... at DIR" once the kernel has the mount: wait for that line, not a clock.
  const up = new Promise<boolean>((resolve) => {
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (/^mounted .* at /m.test(err)) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await sh('fusermount3', ['-uz', dir]).catch(() => undefined);
  };
  if ((await up) && (await isMountpoint(dir))) return { child, dir, stderr: () => err, exited, stop };
  await stop();
  throw new Error(`dtar mount did not come up: ${err}`);
}
