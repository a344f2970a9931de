/**
 * The FUSE operations of a mounted archive: a read-only view of an ArchiveTree whose
 * file reads go through a ContentReader. Every handler answers asynchronously and never
 * throws (a throw would kill the process and leave a dead mount). A store fault makes
 * the reads of the affected file fail with EIO and is reported once per file and fault;
 * everything else keeps working.
 */
import type Fuse from 'fuse-native';
import type { ArchiveTree, ContentReader, InodeStat, OpenFile } from '../archive';
import { ArchivedError } from '../errors';

const O_ACCMODE = 3;
const BLOCK = 4096;

// fuse-native's errno constants are negative Linux errnos.
const ENOENT = -2;
const EIO = -5;
const EBADF = -9;
const EISDIR = -21;
const EROFS = -30;
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

function toFuseStat(s: InodeStat): Fuse.Stat {
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
  private readonly handles = new Map<number, OpenFile>();
  private nextHandle = 1;
  private readonly reported = new Set<string>();

  constructor(
    private readonly tree: ArchiveTree,
    private readonly files: ContentReader,
    private readonly options: FilesystemOptions,
  ) {}

  /** Handles start at 1: libfuse takes 0 for "no handle". */
  private newHandle(f: OpenFile): number {
    while (this.nextHandle === 0 || this.handles.has(this.nextHandle)) this.nextHandle = (this.nextHandle + 1) >>> 0;
    const h = this.nextHandle;
    this.nextHandle = (this.nextHandle + 1) >>> 0;
    this.handles.set(h, f);
    return h;
  }

  private fault(ino: number, e: unknown): void {
    let line = e instanceof Error ? e.message : String(e);
    if (e instanceof ArchivedError) line += `; run '${this.options.thawHint}' and read again once it is thawed`;
    const key = `${ino}\0${line}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.options.report(`${line} (reads of ${this.tree.pathOf(ino)} fail with EIO)`);
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
      open: (path, flags, cb) => {
        const ino = tree.resolve(path);
        if (ino === null) return cb(ENOENT);
        if ((flags & O_ACCMODE) !== 0) return cb(EROFS);
        if (tree.kind(ino) === 'directory') return cb(EISDIR);
        if (tree.kind(ino) !== 'file') return cb(EIO);
        cb(0, this.newHandle(this.files.open(ino)));
      },
      release: (_path, fd, cb) => {
        this.handles.delete(fd);
        cb(0);
      },
      read: (_path, fd, buf, len, pos, cb) => {
        const f = this.handles.get(fd);
        if (!f) return cb(EBADF);
        // Most reads are answered at once, from chunks already in the cache.
        const n = f.read(pos, len, buf);
        if (typeof n === 'number') return cb(n);
        n.then(
          (got) => cb(got),
          (e: unknown) => {
            this.fault(f.ino, e);
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
      for (const s of this.tree.tables.contents.storedSize) sum += s;
      this.totalCache = sum;
    }
    return this.totalCache;
  }
}
