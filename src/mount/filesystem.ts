/**
 * The FUSE operations of a mounted archive: a read-only view of an ArchiveTree whose
 * file reads go through a ContentReader. Every handler answers asynchronously and never
 * throws (a throw would kill the process and leave a dead mount). A store fault makes
 * the reads of the affected file fail with EIO and is reported once per file and fault;
 * everything else keeps working.
 */
import type Fuse from 'fuse-native';
import { LRUCache } from 'lru-cache';
import type { ArchiveTree, ContentReader, InodeStat, OpenFile } from '../archive';
import { ArchivedError, escapeName } from '../errors';

const BLOCK = 4096;
const READERS = 256;

// fuse-native's errno constants are negative Linux errnos.
const ENOENT = -2;
const EIO = -5;
const EISDIR = -21;
const ENODATA = -61;

export interface FaultReporter {
  /** Called once per distinct (file, fault) with a one-line message. */
  (line: string): void;
}

export interface FilesystemOptions {
  /** What to tell the user to run when data is archived (Glacier). */
  thawHint: string;
  report: FaultReporter;
}

/** The stat libfuse gets for an inode (kind is in the mode's type bits). */
export function toFuseStat(s: Omit<InodeStat, 'kind'>): Fuse.Stat {
  return {
    mode: s.mode,
    uid: s.uid,
    gid: s.gid,
    size: s.size,
    nlink: s.nlink,
    ino: s.ino,
    rdev: s.rdev,
    blksize: BLOCK,
    blocks: Math.ceil(s.storedSize / 512),
    atime: s.mtimeMs,
    mtime: s.mtimeMs,
    ctime: s.mtimeMs,
  };
}

export class ArchiveFilesystem {
  /** Files being read, by path: enough for many concurrent readers, each keeping its read-ahead. */
  private readonly readers = new LRUCache<string, OpenFile>({ max: READERS });
  private readonly reported = new Set<string>();

  constructor(
    private readonly tree: ArchiveTree,
    private readonly files: ContentReader,
    private readonly options: FilesystemOptions,
  ) {}

  private fault(ino: number, e: unknown): void {
    let line = e instanceof Error ? e.message : String(e);
    if (e instanceof ArchivedError) line += `; run '${this.options.thawHint}' and read again once it is thawed`;
    const key = `${ino}\0${line}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.options.report(`${line} (reads of ${escapeName(this.tree.pathOf(ino))} fail with EIO)`);
  }

  operations(): Fuse.Operations {
    const tree = this.tree;
    return {
      getattr: (path, cb) => {
        const ino = tree.resolve(path);
        if (ino === null) return cb(ENOENT);
        cb(0, toFuseStat(tree.stat(ino)));
      },
      readdir: (path, cb) => {
        const ino = tree.resolve(path);
        if (ino === null) return cb(ENOENT);
        // With a stat per name the kernel learns each entry's type (d_type): `find` and
        // other walkers then need no lookup per file, only per directory.
        const entries = tree.readdir(ino);
        const names = ['.', '..', ...entries.map((e) => e.name)];
        const stats = [ino, tree.parentOf(ino), ...entries.map((e) => e.ino)].map((i) => toFuseStat(tree.stat(i)));
        cb(0, names, stats);
      },
      // No open or release handlers: libfuse then answers both itself, without a hand-off to
      // JavaScript (two of a small file's four requests; the kernel refuses writes on a
      // read-only mount before asking). A file's read-ahead state lives with its path instead.
      read: (path, _fd, buf, len, pos, cb) => {
        let f = this.readers.get(path);
        if (!f) {
          const ino = tree.resolve(path);
          if (ino === null) return cb(ENOENT);
          if (tree.kind(ino) !== 'file') return cb(EISDIR);
          f = this.files.open(ino);
          this.readers.set(path, f);
        }
        const file = f;
        // Most reads are answered at once, from chunks already in the cache.
        const n = file.read(pos, len, buf);
        if (typeof n === 'number') return cb(n);
        n.then(
          (got) => cb(got),
          (e: unknown) => {
            this.fault(file.ino, e);
            cb(EIO);
          },
        );
      },
      readlink: (path, cb) => {
        const ino = tree.resolve(path);
        const target = ino === null ? null : tree.readlink(ino);
        if (!target) return cb(ENOENT);
        cb(0, target.toString('utf8'));
      },
      getxattr: (path, name, _position, cb) => {
        const ino = tree.resolve(path);
        if (ino === null) return cb(ENOENT);
        const value = tree.xattrs(ino).get(name);
        if (!value) return cb(ENODATA);
        cb(0, value);
      },
      listxattr: (path, cb) => {
        const ino = tree.resolve(path);
        if (ino === null) return cb(ENOENT);
        cb(0, [...tree.xattrs(ino).keys()]);
      },
      statfs: (_path, cb) => {
        const blocks = Math.ceil(this.totalStored() / BLOCK);
        cb(0, { bsize: BLOCK, frsize: BLOCK, blocks, bfree: 0, bavail: 0, files: tree.inodeCount - 1, ffree: 0, favail: 0, fsid: 0, flag: 1, namemax: 255 });
      },
    };
  }

  private totalCache: number | null = null;
  private totalStored(): number {
    if (this.totalCache === null) {
      let sum = 0;
      // Every file's stored body is its chunks, each listed once per file.
      for (const n of this.tree.tables.chunks.plainLength) sum += n;
      this.totalCache = sum;
    }
    return this.totalCache;
  }
}
