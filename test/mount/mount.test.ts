/**
 * dtar mount against the real kernel: a GNU tar tree mounted through the CLI and compared
 * with the original (diff -r, stat, readlink, getfattr, cp -a), concurrent readers,
 * read-only behaviour, clean unmounts (SIGTERM, dtar umount), a killed mount taken down by its
 * watchdog, the on-disk chunk cache, and
 * a corrupted brick failing only the file that uses it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadArchive } from '../../src/archive/archive';
import { brickKey } from '../../src/brick/format';
import { dtar } from '../support/dtar';
import { indexAuth } from '../support/index-auth';
import { WATCHDOG_NAME } from '../../src/mount/watchdog';
import { buildFixture, Fixture, isMountpoint, LONG_DIR, LONG_FILE, RunningMount, sh, startMount } from './fixture';

async function lines(cmd: string, cwd: string): Promise<string[]> {
  const { stdout } = await sh('sh', ['-c', cmd], { cwd, maxBuffer: 64 * 1024 * 1024 });
  return stdout.split('\n').filter((l) => l !== '');
}

async function sha(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const b of createReadStream(path)) h.update(b as Buffer);
  return h.digest('hex');
}

/** diff -r without following symlinks; FIFOs are left to the stat test (diff reports any FIFO as a difference). */
/** Lists and reads through a mount, so that the kernel has opened its directories. */
function used(dir: string): Promise<unknown> {
  return sh('sh', ['-c', 'ls -R . > /dev/null && cat small.txt > /dev/null'], { cwd: dir });
}

/** The pid of a mount process's watchdog (src/mount/watchdog.ts). */
async function watchdogOf(x: RunningMount): Promise<number> {
  const { stdout } = await sh('pgrep', ['-P', String(x.child.pid), '-f', WATCHDOG_NAME]);
  const pid = Number(stdout.trim());
  assert.ok(pid > 0, `one watchdog: ${stdout}`);
  return pid;
}

/** Until process `pid` has exited (gone, or a zombie not yet reaped by init). */
async function ended(pid: number): Promise<void> {
  const running = (): Promise<boolean> => readFile(`/proc/${pid}/stat`, 'utf8').then((s) => !/^\d+ \(.*\) Z/.test(s), () => false);
  while (await running()) await new Promise((r) => setTimeout(r, 20));
}

function diffTrees(a: string, b: string, ...exclude: string[]): Promise<unknown> {
  return sh('diff', ['-r', '--no-dereference', '-x', 'fifo', ...exclude.flatMap((x) => ['-x', x]), a, b]);
}

async function errorCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code;
  }
}

describe('dtar mount', () => {
  let f: Fixture;
  let m: RunningMount;
  const mounts: RunningMount[] = [];

  before(async () => {
    f = await buildFixture();
    m = await startMount(f, join(f.dir, 'mnt'));
    mounts.push(m);
  });

  after(async () => {
    for (const x of mounts) await x.stop();
    await f?.cleanup();
  });

  test('diff -r finds the mounted tree identical to the original', async () => {
    await diffTrees(f.src, m.dir);
  });

  test('stat agrees: type, mode, size, mtime, owner, link count', async () => {
    // Directory sizes are the filesystem's own business; everything else must match.
    const fmt = "find . -printf '%p|%y|%m|%U|%G|%n|%T@|' -exec sh -c 'test -d \"$1\" && echo - || stat -c %s \"$1\"' _ {} \\;";
    const want = await lines(fmt, f.src);
    const got = await lines(fmt, m.dir);
    const norm = (l: string): string => l.replace(/\|(\d+)\.\d+\|/, '|$1|'); // whole seconds
    assert.deepEqual(got.map(norm).sort(), want.map(norm).sort());
    assert.ok(want.length > 10);
  });

  test('hard links are one inode with the right link count; inode numbers are stable', async () => {
    const [a, b] = await lines('stat -c "%i %h" hard1 dir/hard2', m.dir);
    assert.equal(a, b);
    assert.match(a!, / 2$/);
    const again = await lines('stat -c "%i %h" hard1 dir/hard2', m.dir);
    assert.deepEqual(again, [a, b]);
  });

  test('directory entries carry their type and inode, so walkers need no lookup per file', async () => {
    // The raw getdents64 records (d_ino, d_type), which ls, find and Node would otherwise hide behind a stat.
    const dirents = `
import ctypes, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
buf = ctypes.create_string_buffer(65536)
libc = ctypes.CDLL(None, use_errno=True)
while True:
    n = libc.syscall(217, fd, buf, len(buf))
    if n <= 0: break
    at = 0
    while at < n:
        ino, _, reclen, typ = struct.unpack_from('QqHB', buf.raw, at)
        name = buf.raw[at + 19:at + reclen].split(b'\\0', 1)[0].decode()
        print(name, ino, typ)
        at += reclen
`;
    const got = new Map((await lines(`python3 -c "$0" .`.replace('$0', dirents.replace(/"/g, '\\"')), m.dir)).map((l) => [l.split(' ')[0]!, l]));
    const DT = { fifo: 1, dir: 4, reg: 8, lnk: 10 };
    for (const [name, type] of [['small.txt', DT.reg], ['dir', DT.dir], ['link', DT.lnk], ['fifo', DT.fifo], ['hard1', DT.reg]] as const) {
      const [ino] = await lines(`stat -c %i ${name}`, m.dir);
      assert.equal(got.get(name), `${name} ${ino} ${type}`);
    }
  });

  test('symlinks, FIFOs and long names', async () => {
    assert.deepEqual(await lines('readlink link dir/dangling', m.dir), ['small.txt', '/nonexistent/target']);
    assert.deepEqual(await lines('stat -c %F fifo', m.dir), ['fifo']);
    assert.equal(await readFile(join(m.dir, LONG_DIR, LONG_FILE), 'utf8'), 'long name\n');
  });

  test('extended attributes from PAX records', async () => {
    const dump = (cwd: string): Promise<string[]> => lines('getfattr -h -d -m "^user\\." small.txt dir', cwd);
    const got = await dump(m.dir);
    assert.deepEqual(got, await dump(f.src));
    assert.ok(got.includes('user.color="blue"'));
  });

  test('sparse files read zeros in holes and data where it was', async () => {
    assert.equal(await sha(join(m.dir, 'sparse.img')), await sha(join(f.src, 'sparse.img')));
    const fh = await open(join(m.dir, 'sparse.img'));
    try {
      const buf = Buffer.alloc(10);
      await fh.read(buf, 0, 10, 8388603);
      assert.equal(buf.subarray(0, 5).toString('latin1'), '\0\0end');
    } finally {
      await fh.close();
    }
  });

  test('cp -a copies the tree out, hard links included', async () => {
    const out = join(f.dir, 'copy');
    await sh('cp', ['-a', m.dir, out]);
    await diffTrees(f.src, out);
    const [a, b] = await lines('stat -c %i hard1 dir/hard2', out);
    assert.equal(a, b);
  });

  test('concurrent readers get the right bytes', async () => {
    const want = await sha(join(f.src, 'big.bin'));
    const whole = Array.from({ length: 6 }, () => sha(join(m.dir, 'big.bin')));
    const src = await readFile(join(f.src, 'big.bin'));
    const fh = await open(join(m.dir, 'big.bin'));
    try {
      const random = Array.from({ length: 40 }, async (_, i) => {
        const at = (i * 77_777) % (src.length - 200_000);
        const buf = Buffer.alloc(200_000);
        const { bytesRead } = await fh.read(buf, 0, buf.length, at);
        assert.equal(bytesRead, buf.length);
        assert.ok(buf.equals(src.subarray(at, at + buf.length)), `bytes at ${at}`);
      });
      await Promise.all(random);
    } finally {
      await fh.close();
    }
    assert.deepEqual(await Promise.all(whole), Array(6).fill(want));
  });

  test('it is read-only: writes fail with EROFS', async () => {
    assert.equal(await errorCode(writeFile(join(m.dir, 'new'), 'x')), 'EROFS');
    assert.equal(await errorCode(open(join(m.dir, 'small.txt'), 'r+')), 'EROFS');
    assert.equal(await errorCode(mkdir(join(m.dir, 'newdir'))), 'EROFS');
    assert.equal(await errorCode(rename(join(m.dir, 'small.txt'), join(m.dir, 'x'))), 'EROFS');
  });

  test('SIGTERM unmounts cleanly and leaves no stale mount', async () => {
    m.child.kill('SIGTERM');
    assert.equal(await m.exited, 0);
    assert.equal(await isMountpoint(m.dir), false);
  });

  test('dtar umount unmounts a mount served by another process, which then exits', async () => {
    const x = await startMount(f, join(f.dir, 'mnt2'));
    mounts.push(x);
    const r = await dtar(['umount', x.dir], { env: f.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await x.exited, 0);
    assert.equal(await isMountpoint(x.dir), false);
  });

  /** A mount used first (the kernel has opened its directories), and its watchdog's pid. */
  async function usedMount(dir: string): Promise<{ x: RunningMount; watchdog: number }> {
    const x = await startMount(f, dir);
    mounts.push(x);
    await used(dir);
    return { x, watchdog: await watchdogOf(x) };
  }

  async function killed(x: RunningMount): Promise<void> {
    x.child.kill('SIGKILL');
    await x.exited;
  }

  test('a mount process killed with SIGKILL after use leaves no mount behind (its watchdog unmounts it)', async () => {
    // Used first: with no-opendir, an open of the dead mount point still succeeds.
    const { x, watchdog } = await usedMount(join(f.dir, 'mnt-killed'));
    await killed(x);
    // The watchdog unmounts (or decides not to), then exits: wait for that, not for a time.
    await ended(watchdog);
    assert.equal(await isMountpoint(x.dir), false);
  });

  test('a watchdog killed while its mount serves is replaced, and the new one unmounts a killed mount', async () => {
    const { x, watchdog: first } = await usedMount(join(f.dir, 'mnt-rewatched'));
    process.kill(first, 'SIGKILL');
    await ended(first);
    // Its successor is started when the mount process reaps it: wait for that.
    let second = first;
    while (second === first) {
      await new Promise((r) => setTimeout(r, 20));
      second = await watchdogOf(x).catch(() => first);
    }
    await killed(x);
    await ended(second);
    assert.equal(await isMountpoint(x.dir), false);
  });

  test('a watchdog late to act leaves alone the mount that has taken the mount point over', async () => {
    const dir = join(f.dir, 'mnt-reused');
    const { x, watchdog } = await usedMount(dir);
    process.kill(watchdog, 'SIGSTOP');
    await killed(x);
    // The next mount there takes the dead one down first (its device number may well be reused).
    const y = await startMount(f, dir);
    mounts.push(y);
    process.kill(watchdog, 'SIGCONT');
    await ended(watchdog);
    assert.equal(await readFile(join(dir, 'dir/sub/deep.txt'), 'utf8'), 'deep\n'.repeat(1000));
    y.child.kill('SIGTERM');
    assert.equal(await y.exited, 0);
    assert.equal(await isMountpoint(dir), false, 'no dead mount left under the new one');
  });

  test('with --keep-chunks, a second mount reads fetched chunks without the store', async () => {
    const cache = join(f.dir, 'chunk-cache');
    const x = await startMount(f, join(f.dir, 'mnt3'), ['--keep-chunks', '--cache-dir', cache]);
    mounts.push(x);
    const want = await sha(join(f.src, 'big.bin'));
    assert.equal(await sha(join(x.dir, 'big.bin')), want);
    await x.stop();
    // Bricks gone from the store: only the on-disk cache can serve the file now.
    await rename(join(f.store, 'bricks'), join(f.store, 'bricks.away'));
    try {
      const y = await startMount(f, join(f.dir, 'mnt4'), ['--keep-chunks', '--cache-dir', cache]);
      mounts.push(y);
      assert.equal(await sha(join(y.dir, 'big.bin')), want);
      await y.stop();
    } finally {
      await rename(join(f.store, 'bricks.away'), join(f.store, 'bricks'));
    }
  });

  test('a corrupted brick fails only the file that uses it, with EIO, reported once', async () => {
    // Find a brick that holds chunks of big.bin and of nothing else.
    const archive = await loadArchive(createReadStream(f.index), { auth: await indexAuth(f.store, f.env.DTAR_PASSWORD!) });
    const t = archive.tree.tables;
    const users = new Map<number, Set<string>>();
    for (const e of archive.tree.walk()) {
      if (e.ino && archive.tree.kind(e.ino) !== 'file') continue;
      const row = t.inodes.ref[e.ino]!;
      for (let k = t.contents.chunkStart[row]!; k < t.contents.chunkEnd[row]!; k++) {
        const b = t.chunks.brick[k]!;
        if (!users.has(b)) users.set(b, new Set());
        users.get(b)!.add(e.path);
      }
    }
    const only = [...users].find(([, files]) => files.size === 1 && files.has('big.bin'));
    assert.ok(only, 'big.bin has a brick of its own');
    const hex = t.chunks.bricks.toString('hex', only[0] * 32, only[0] * 32 + 32);
    const path = join(f.store, brickKey(hex));
    const bytes = await readFile(path);
    bytes[100]! ^= 0xff;
    await writeFile(path, bytes);

    const x = await startMount(f, join(f.dir, 'mnt5'));
    mounts.push(x);
    assert.equal(await errorCode(readFile(join(x.dir, 'big.bin'))), 'EIO');
    assert.equal(await errorCode(readFile(join(x.dir, 'big.bin'))), 'EIO');
    assert.equal(await readFile(join(x.dir, 'small.txt'), 'utf8'), 'hello\n');
    assert.equal(await sha(join(x.dir, 'sparse.img')), await sha(join(f.src, 'sparse.img')));
    await diffTrees(f.src, x.dir, 'big.bin');
    await x.stop();
    const reports = x.stderr().split('\n').filter((l) => l.includes(hex));
    assert.ok(reports.length >= 1 && reports.every((l) => l.includes('big.bin')), x.stderr());
    assert.equal(new Set(reports).size, reports.length, 'each fault is reported once');
  });
});
