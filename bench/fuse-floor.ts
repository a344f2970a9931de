/**
 * The floor of the FUSE request path, for bench/mount.sh: a filesystem that mirrors a
 * directory's tree (names, types, sizes, inode numbers, link targets) and answers every
 * read at once by copying from one buffer in memory, mounted through dtar's own
 * ArchiveMount (fuse-native, the same options and kernel read-ahead). No store, no cache,
 * no decryption: whatever `tar c` through it costs, every fuse-native filesystem here pays.
 * Usage: node dist/bench/fuse-floor.js DIR MOUNTPOINT   (prints "mounted", serves until SIGTERM)
 */
import { lstatSync, readdirSync, readlinkSync, Stats } from 'node:fs';
import { join } from 'node:path';
import type Fuse from 'fuse-native';
import { READ_AHEAD_KB } from '../src/commands/mount';
import { toFuseStat } from '../src/mount/filesystem';
import { ArchiveMount } from '../src/mount/mount';

const ENOENT = -2;

/** The same stat dtar's mount hands libfuse, from the mirrored file's own. */
function statOf(s: Stats): Fuse.Stat {
  return toFuseStat({ ino: s.ino, mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, storedSize: s.blocks * 512, mtimeMs: s.mtimeMs, nlink: s.nlink, rdev: s.rdev });
}

async function main(): Promise<void> {
  const [root, mountpoint] = process.argv.slice(2);
  if (!root || !mountpoint) throw new Error('usage: fuse-floor DIR MOUNTPOINT');
  const stats = new Map<string, Stats>();
  const children = new Map<string, string[]>();
  const walk = (rel: string): void => {
    const s = lstatSync(join(root, rel));
    stats.set(rel, s);
    if (!s.isDirectory()) return;
    const names = readdirSync(join(root, rel));
    children.set(rel, names);
    for (const n of names) walk(rel === '/' ? `/${n}` : `${rel}/${n}`);
  };
  walk('/');
  const data = Buffer.alloc(1024 * 1024, 0x78);
  const ops: Fuse.Operations = {
    getattr: (path, cb) => {
      const s = stats.get(path);
      if (!s) return cb(ENOENT);
      cb(0, statOf(s));
    },
    readdir: (path, cb) => {
      const names = children.get(path);
      if (!names) return cb(ENOENT);
      const at = (n: string): string => (path === '/' ? `/${n}` : `${path}/${n}`);
      const self = statOf(stats.get(path)!);
      cb(0, ['.', '..', ...names], [self, self, ...names.map((n) => statOf(stats.get(at(n))!))]);
    },
    readlink: (path, cb) => cb(0, readlinkSync(join(root, path), 'utf8')),
    read: (path, _fd, buf, len, pos, cb) => {
      const n = Math.max(0, Math.min(len, (stats.get(path)?.size ?? 0) - pos));
      for (let at = 0; at < n; at += data.length) data.copy(buf, at, 0, Math.min(data.length, n - at));
      cb(n);
    },
  };
  const mount = await ArchiveMount.mount(mountpoint, ops, { allowOther: false, fsname: 'dtar-floor', readAheadKb: READ_AHEAD_KB, readTimeoutMs: 60_000 });
  process.stdout.write(`mounted ${stats.size} entries\n`);
  process.on('SIGTERM', () => void mount.unmount());
  await mount.gone;
}

main().catch((e: unknown) => {
  process.stderr.write(`fuse-floor: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
