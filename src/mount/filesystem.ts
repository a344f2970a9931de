/**
 * A mounted archive: the kernel's requests answered by inode from an ArchiveTree, file
 * reads through a ContentReader. Names are bytes end to end (an archive's names need not
 * be UTF-8). Every handler answers exactly once and never throws (a throw would kill the
 * process and leave a dead mount). A store fault makes the reads of the affected file fail
 * with EIO and is reported once per file and fault; everything else keeps working.
 */
import { constants } from 'node:os';
import { LRUCache } from 'lru-cache';
import { ArchiveTree } from '../archive/archive';
import type { ContentReader, OpenFile } from '../archive/archive';
import { ArchivedError, escapeName } from '../errors';
import type { FuseSession, LowLevelFilesystem } from './mount';

const { ENOENT, EIO, EISDIR, ENOTDIR, ENODATA, ERANGE, EINVAL } = constants.errno;
const BLOCK = 4096;
/** Files being read at once, each keeping its read-ahead. */
const READERS = 256;
/** The kernel's largest read (max_pages 256), and how many such buffers are kept for reuse. */
const READ_BUFFER = 1024 * 1024;
const SPARE_BUFFERS = 16;

export interface FaultReporter {
  /** Called once per distinct (file, fault) with a one-line message. */
  (line: string): void;
}

export interface FilesystemOptions {
  /** What to tell the user to run when data is archived (Glacier). */
  thawHint: string;
  report: FaultReporter;
}

/**
 * Where an archive's inodes sit among the mount's: inode i of the archive is base + i, and
 * the directory above its root is rootParent (a whole-store mount puts many archives in one
 * filesystem; a single archive mount has base 0 and its root as its own parent).
 */
export interface InodeSpace {
  base: number;
  rootParent: number;
}

export class ArchiveFilesystem implements LowLevelFilesystem {
  private readonly readers = new LRUCache<number, OpenFile>({ max: READERS });
  private readonly reported = new Set<string>();
  /** Read buffers not in use. */
  private readonly spare: Buffer[] = [];
  readonly xattrs: LowLevelFilesystem['xattrs'];

  constructor(
    private readonly session: FuseSession,
    private readonly tree: ArchiveTree,
    private readonly files: ContentReader,
    private readonly options: FilesystemOptions,
    private readonly space: InodeSpace = { base: 0, rootParent: ArchiveTree.ROOT },
  ) {
    // With no xattr handlers the kernel stops asking after the first ENOSYS: no request per lookup.
    this.xattrs = tree.tables.xattrs.size > 0 ? { get: (r, i, n, s) => this.getxattr(r, i, n, s), list: (r, i, s) => this.listxattr(r, i, s) } : undefined;
  }

  /** Record `slot` of the session's attributes gets archive inode `ino`'s, shown as inode `shown`. */
  private put(slot: number, ino: number, shown = this.space.base + ino): void {
    const s = this.tree.stat(ino);
    this.session.putAttributes(slot, { ino: shown, mode: s.mode, nlink: s.nlink, uid: s.uid, gid: s.gid, rdev: s.rdev, size: s.size, blocks: Math.ceil(s.storedSize / 512), mtimeMs: s.mtimeMs });
  }

  /** Answers a LOOKUP of the archive's root (a whole-store mount's archive directory). */
  lookupRoot(req: number): void {
    this.put(0, ArchiveTree.ROOT);
    this.session.replyEntry(req);
  }

  lookup(req: number, parent: number, name: Buffer): void {
    const dir = parent - this.space.base;
    const ino = this.tree.lookupName(dir, name);
    if (ino === null) return this.session.replyErr(req, this.tree.has(dir) && this.tree.kind(dir) === 'directory' ? ENOENT : ENOTDIR);
    this.put(0, ino);
    this.session.replyEntry(req);
  }

  getattr(req: number, shown: number): void {
    const ino = shown - this.space.base;
    if (!this.tree.has(ino)) return this.session.replyErr(req, ENOENT);
    this.put(0, ino);
    this.session.replyAttr(req);
  }

  readlink(req: number, shown: number): void {
    const ino = shown - this.space.base;
    const target = this.tree.has(ino) ? this.tree.readlink(ino) : null;
    if (!target) return this.session.replyErr(req, EINVAL);
    this.session.replyReadlink(req, target);
  }

  /** Entries from position `offset` on ("." is 0, ".." is 1), as many as fit in `size` bytes. */
  readdirplus(req: number, shown: number, size: number, offset: number): void {
    const tree = this.tree;
    const dir = shown - this.space.base;
    if (!tree.has(dir)) return this.session.replyErr(req, ENOENT);
    if (tree.kind(dir) !== 'directory') return this.session.replyErr(req, ENOTDIR);
    this.session.replyDirectory(req, size, offset, {
      count: tree.entryCount(dir) + 2,
      name: (pos) => (pos === 0 ? DOT : pos === 1 ? DOTDOT : tree.entryName(dir, pos - 2)),
      put: (pos, slot) => {
        if (pos === 1 && dir === ArchiveTree.ROOT) this.put(slot, dir, this.space.rootParent);
        else this.put(slot, pos === 0 ? dir : pos === 1 ? tree.parentOf(dir) : tree.entryIno(dir, pos - 2));
        return false;
      },
    });
  }

  read(req: number, shown: number, size: number, offset: number): void {
    const ino = shown - this.space.base;
    let file = this.readers.get(ino);
    if (!file) {
      if (!this.tree.has(ino)) return this.session.replyErr(req, ENOENT);
      if (this.tree.kind(ino) !== 'file') return this.session.replyErr(req, EISDIR);
      file = this.files.open(ino);
      this.readers.set(ino, file);
    }
    // Most reads are answered at once, from chunks already in the cache; the buffer goes
    // straight back. A read that waits on the store keeps its buffer until it is answered.
    const buf = size <= READ_BUFFER ? (this.spare.pop() ?? Buffer.allocUnsafe(READ_BUFFER)) : Buffer.allocUnsafe(size);
    const answer = (n: number): void => {
      this.session.replyData(req, buf, n);
      if (buf.length === READ_BUFFER && this.spare.length < SPARE_BUFFERS) this.spare.push(buf);
    };
    const fail = (e: unknown): void => {
      this.fault(ino, e);
      this.session.replyErr(req, EIO);
    };
    let got: number | Promise<number>;
    try {
      got = file.read(offset, size, buf);
    } catch (e) {
      return fail(e);
    }
    if (typeof got === 'number') answer(got);
    else got.then(answer, fail);
  }

  private getxattr(req: number, shown: number, name: Buffer, size: number): void {
    const ino = shown - this.space.base;
    if (!this.tree.has(ino)) return this.session.replyErr(req, ENOENT);
    const value = this.tree.xattrs(ino).get(name.toString('utf8'));
    if (!value) return this.session.replyErr(req, ENODATA);
    if (size === 0) return this.session.replyXattrSize(req, value.length);
    if (size < value.length) return this.session.replyErr(req, ERANGE);
    this.session.replyData(req, value, value.length);
  }

  private listxattr(req: number, shown: number, size: number): void {
    const ino = shown - this.space.base;
    if (!this.tree.has(ino)) return this.session.replyErr(req, ENOENT);
    const list = Buffer.concat([...this.tree.xattrs(ino).keys()].map((k) => Buffer.from(`${k}\0`)));
    if (size === 0) return this.session.replyXattrSize(req, list.length);
    if (size < list.length) return this.session.replyErr(req, ERANGE);
    this.session.replyData(req, list, list.length);
  }

  statfs(req: number): void {
    this.session.replyStatfs(req, Math.ceil(this.totalStored() / BLOCK), this.tree.inodeCount - 1);
  }

  private fault(ino: number, e: unknown): void {
    let line = e instanceof Error ? e.message : String(e);
    if (e instanceof ArchivedError) line += `; run '${this.options.thawHint}' and read again once it is thawed`;
    const key = `${ino}\0${line}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.options.report(`${line} (reads of ${escapeName(this.tree.pathOf(ino))} fail with EIO)`);
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

const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');
