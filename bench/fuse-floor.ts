/**
 * The floor of the FUSE request path, for bench/mount.sh: a filesystem that mirrors a
 * directory's tree (names as bytes, types, sizes, inode numbers, link targets) and answers
 * every read at once by copying from one buffer in memory, mounted through dtar's own
 * binding (FuseSession: the same options, capabilities and kernel read-ahead as `dtar
 * mount`). No store, no cache, no decryption: whatever `tar c` through it costs, every
 * dtar mount pays. With --count it prints how many requests of each kind it answered.
 * Usage: node dist/bench/fuse-floor.js DIR MOUNTPOINT [--count]
 *        (prints "mounted", serves until SIGTERM)
 */
import { lstatSync, readdirSync, readlinkSync, Stats } from 'node:fs';
import { constants } from 'node:os';
import { READ_AHEAD_KB } from '../src/commands/mount';
import { FuseSession, LowLevelFilesystem } from '../src/mount/mount';

const { ENOENT, ENOTDIR } = constants.errno;
const SLASH = Buffer.from('/');
const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');

interface Node {
  ino: number;
  stats: Stats;
  path: Buffer;
  /** Directories: their entries' names (bytes) and inode numbers. */
  names?: Buffer[];
  children?: number[];
}

async function main(): Promise<void> {
  const [root, mountpoint, flag] = process.argv.slice(2);
  if (!root || !mountpoint) throw new Error('usage: fuse-floor DIR MOUNTPOINT [--count]');
  const nodes: Node[] = [];
  const parent: number[] = [];
  const walk = (path: Buffer, up: number): number => {
    const ino = nodes.length + 1;
    const node: Node = { ino, stats: lstatSync(path), path };
    nodes.push(node);
    parent.push(up === 0 ? ino : up);
    if (node.stats.isDirectory()) {
      node.names = readdirSync(path, { encoding: 'buffer' }).sort(Buffer.compare);
      node.children = node.names.map((n) => walk(Buffer.concat([path, SLASH, n]), ino));
    }
    return ino;
  };
  walk(Buffer.from(root), 0);
  const get = (ino: number): Node | undefined => nodes[ino - 1];
  const session = new FuseSession();
  const counts = new Map<string, number>();
  const count = flag === '--count' ? (op: string): void => void counts.set(op, (counts.get(op) ?? 0) + 1) : (): void => undefined;
  const put = (slot: number, n: Node): void => {
    const s = n.stats;
    session.putAttributes(slot, { ino: n.ino, mode: s.mode, nlink: s.nlink, uid: s.uid, gid: s.gid, rdev: s.rdev, size: s.size, blocks: s.blocks, mtimeMs: s.mtimeMs });
  };
  const data = Buffer.alloc(1024 * 1024, 0x78);
  const fs: LowLevelFilesystem = {
    lookup(req, p, name) {
      count('lookup');
      const dir = get(p);
      const i = dir?.names?.findIndex((n) => n.equals(name)) ?? -1;
      if (i < 0) return session.replyErr(req, ENOENT);
      put(0, get(dir!.children![i]!)!);
      session.replyEntry(req);
    },
    getattr(req, ino) {
      count('getattr');
      const n = get(ino);
      if (!n) return session.replyErr(req, ENOENT);
      put(0, n);
      session.replyAttr(req);
    },
    readlink(req, ino) {
      count('readlink');
      session.replyReadlink(req, readlinkSync(get(ino)!.path, { encoding: 'buffer' }));
    },
    read(req, ino, size, offset) {
      count('read');
      const n = Math.max(0, Math.min(size, data.length, get(ino)!.stats.size - offset));
      session.replyData(req, data, n);
    },
    readdirplus(req, ino, size, offset) {
      count('readdirplus');
      const dir = get(ino);
      if (!dir?.names) return session.replyErr(req, ENOTDIR);
      session.replyDirectory(req, size, offset, {
        count: dir.names.length + 2,
        name: (pos) => (pos === 0 ? DOT : pos === 1 ? DOTDOT : dir.names![pos - 2]!),
        put: (pos, slot) => {
          put(slot, get(pos === 0 ? ino : pos === 1 ? parent[ino - 1]! : dir.children![pos - 2]!)!);
          return false;
        },
      });
    },
    statfs(req) {
      session.replyStatfs(req, 0, nodes.length);
    },
  };
  await session.mount(mountpoint, fs, { allowOther: false, fsname: 'dtar-floor', readAheadKb: READ_AHEAD_KB });
  process.stdout.write(`mounted ${nodes.length} entries\n`);
  process.on('SIGTERM', () => void session.unmount());
  await session.gone;
  if (counts.size) process.stdout.write(`requests: ${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`fuse-floor: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
