/**
 * The whole store as one filesystem: MOUNT/<name>/<created>/… for every archive, and
 * MOUNT/<name>/latest, a symlink to the newest of that name. The top two levels are made up
 * here. An archive's tree is loaded when it is first entered (the kernel's LOOKUP of its
 * directory: listing a name's archives loads none of them) and dropped again, least
 * recently used first, once the loaded archives pass a memory budget; a later request for
 * one of its inodes loads it again. Inode numbers: below 2^32 the made-up levels; inode i
 * of the k-th archive is k * 2^32 + i, the same on every load, so the kernel's cached
 * inodes stay valid across a drop.
 */
import { constants } from 'node:os';
import { ArchiveTree, tableBytes } from '../archive/archive';
import type { ContentReader } from '../archive/archive';
import { escapeName } from '../errors';
import { ArchiveFilesystem, FilesystemOptions } from './filesystem';
import type { FuseSession, LowLevelFilesystem } from './mount';

const { ENOENT, EIO, EISDIR, ENOTDIR, ENODATA, EINVAL } = constants.errno;
const SLOT = 2 ** 32;
const ROOT = 1;
const LATEST = Buffer.from('latest');

export interface StoredArchive {
  id: string;
  name: string;
  /** ISO 8601, as the archive's sealed metadata gives it. */
  created: string;
}

export interface LoadedArchive {
  tree: ArchiveTree;
  files: ContentReader;
  /** Bytes it holds besides its tables (its chunk cache's budget), for the memory budget. */
  extraBytes: number;
}

export interface StoreFilesystemOptions extends Omit<FilesystemOptions, 'thawHint'> {
  /** Loads an archive's tree and a reader of its files. */
  load(archive: StoredArchive): Promise<LoadedArchive>;
  /** Bytes the loaded archives may hold together before the least recently used are dropped. */
  memoryBytes: number;
  /** Owner of the made-up directories (the mounting user). */
  uid: number;
  gid: number;
}

interface NameDir {
  name: Buffer;
  /** Archive numbers (1-based), oldest first. */
  archives: number[];
}

interface Loaded {
  fs: ArchiveFilesystem;
  bytes: number;
}

export class StoreFilesystem implements LowLevelFilesystem {
  private readonly names: NameDir[];
  /** Archive k is archives[k - 1]; dirNames[k - 1] is its directory's name. */
  private readonly archives: StoredArchive[] = [];
  private readonly dirNames: Buffer[] = [];
  /** Name directory of archive k (an inode number). */
  private readonly nameDirOf: number[] = [];
  /** Loaded archives, least recently used first. */
  private readonly loaded = new Map<number, Loaded>();
  private readonly loading = new Map<number, Promise<ArchiveFilesystem>>();
  private loadedBytes = 0;
  private readonly newest: number;
  readonly xattrs: LowLevelFilesystem['xattrs'];

  constructor(
    private readonly session: FuseSession,
    all: readonly StoredArchive[],
    private readonly options: StoreFilesystemOptions,
  ) {
    const byName = new Map<string, StoredArchive[]>();
    for (const a of all) {
      const list = byName.get(a.name) ?? [];
      list.push(a);
      byName.set(a.name, list);
    }
    this.names = [...byName.keys()]
      .sort()
      .map((name) => ({ name: Buffer.from(name), archives: [] }));
    this.names.forEach((dir, i) => {
      const list = byName.get(dir.name.toString())!.sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : a.id < b.id ? -1 : 1));
      const seen = new Set<string>();
      for (const a of list) {
        let shown = a.created.replace(/\.\d+Z$/, 'Z');
        // Two archives of one name in the same second: the later gets its id too.
        if (seen.has(shown)) shown = `${shown}-${a.id}`;
        seen.add(shown);
        this.archives.push(a);
        this.dirNames.push(Buffer.from(shown));
        this.nameDirOf.push(this.nameDirIno(i));
        dir.archives.push(this.archives.length);
      }
    });
    this.newest = Math.max(0, ...all.map((a) => Date.parse(a.created)).filter((t) => !Number.isNaN(t)));
    this.xattrs = { get: (r, i, n, s) => this.getxattr(r, i, n, s), list: (r, i, s) => this.listxattr(r, i, s) };
  }

  private nameDirIno(i: number): number {
    return 2 + i;
  }

  private latestIno(i: number): number {
    return 2 + this.names.length + i;
  }

  /** Which made-up inode this is: the root, name directory i or its `latest` link i. */
  private madeUp(ino: number): { kind: 'root' } | { kind: 'name' | 'latest'; i: number } | null {
    if (ino === ROOT) return { kind: 'root' };
    const n = this.names.length;
    if (ino >= 2 && ino < 2 + n) return { kind: 'name', i: ino - 2 };
    if (ino >= 2 + n && ino < 2 + 2 * n) return { kind: 'latest', i: ino - 2 - n };
    return null;
  }

  private putDir(slot: number, ino: number, entries: number): void {
    const { uid, gid } = this.options;
    this.session.putAttributes(slot, { ino, mode: 0o40555, nlink: 2 + entries, uid, gid, rdev: 0, size: 4096, blocks: 0, mtimeMs: this.newest });
  }

  private latestTarget(i: number): Buffer {
    const list = this.names[i]!.archives;
    return this.dirNames[list[list.length - 1]! - 1]!;
  }

  private putMadeUp(slot: number, ino: number): boolean {
    const m = this.madeUp(ino);
    if (!m) return false;
    if (m.kind === 'root') this.putDir(slot, ino, this.names.length);
    else if (m.kind === 'name') this.putDir(slot, ino, 0);
    else {
      const { uid, gid } = this.options;
      this.session.putAttributes(slot, { ino, mode: 0o120777, nlink: 1, uid, gid, rdev: 0, size: this.latestTarget(m.i).length, blocks: 0, mtimeMs: this.newest });
    }
    return true;
  }

  /** Runs `f` on the archive holding inode `ino` once it is loaded; EIO if it cannot be. */
  private withArchive(req: number, ino: number, f: (fs: ArchiveFilesystem) => void): void {
    const k = Math.floor(ino / SLOT);
    if (k < 1 || k > this.archives.length) return this.session.replyErr(req, ENOENT);
    const hit = this.loaded.get(k);
    if (hit) {
      this.loaded.delete(k);
      this.loaded.set(k, hit);
      return f(hit.fs);
    }
    this.load(k).then(f, (e: unknown) => {
      this.report(k, e);
      this.session.replyErr(req, EIO);
    });
  }

  private readonly reported = new Set<string>();
  private report(k: number, e: unknown): void {
    const a = this.archives[k - 1]!;
    const line = `archive ${escapeName(a.name)} of ${a.created} (${a.id}) cannot be loaded: ${e instanceof Error ? e.message : String(e)}`;
    if (this.reported.has(line)) return;
    this.reported.add(line);
    this.options.report(line);
  }

  private load(k: number): Promise<ArchiveFilesystem> {
    let p = this.loading.get(k);
    if (!p) {
      const archive = this.archives[k - 1]!;
      p = this.options.load(archive).then((a) => {
        const options = { ...this.options, thawHint: `dtar thaw @${archive.id}` };
        const fs = new ArchiveFilesystem(this.session, a.tree, a.files, options, { base: k * SLOT, rootParent: this.nameDirOf[k - 1]! });
        const bytes = tableBytes(a.tree.tables) + a.extraBytes;
        this.loaded.set(k, { fs, bytes });
        this.loadedBytes += bytes;
        // Least recently used first, never the one just loaded.
        for (const [old, l] of this.loaded) {
          if (this.loadedBytes <= this.options.memoryBytes || old === k) break;
          this.loaded.delete(old);
          this.loadedBytes -= l.bytes;
        }
        return fs;
      });
      const done = (): void => void this.loading.delete(k);
      p.then(done, done);
      this.loading.set(k, p);
    }
    return p;
  }

  /** How many archives are loaded now (for tests and the report on exit). */
  get loadedCount(): number {
    return this.loaded.size;
  }

  lookup(req: number, parent: number, name: Buffer): void {
    const m = this.madeUp(parent);
    if (m?.kind === 'root') {
      const i = this.names.findIndex((d) => d.name.equals(name));
      if (i < 0) return this.session.replyErr(req, ENOENT);
      this.putMadeUp(0, this.nameDirIno(i));
      return this.session.replyEntry(req);
    }
    if (m?.kind === 'name') {
      if (name.equals(LATEST)) {
        this.putMadeUp(0, this.latestIno(m.i));
        return this.session.replyEntry(req);
      }
      const k = this.names[m.i]!.archives.find((a) => this.dirNames[a - 1]!.equals(name));
      if (k === undefined) return this.session.replyErr(req, ENOENT);
      return this.withArchive(req, k * SLOT + ArchiveTree.ROOT, (fs) => fs.lookupRoot(req));
    }
    if (m) return this.session.replyErr(req, ENOTDIR);
    // The name is the binding's scratch: keep a copy for a lookup that waits on a load.
    const own = Buffer.from(name);
    this.withArchive(req, parent, (fs) => fs.lookup(req, parent, own));
  }

  getattr(req: number, ino: number): void {
    if (this.putMadeUp(0, ino)) return this.session.replyAttr(req);
    this.withArchive(req, ino, (fs) => fs.getattr(req, ino));
  }

  readlink(req: number, ino: number): void {
    const m = this.madeUp(ino);
    if (m?.kind === 'latest') return this.session.replyReadlink(req, this.latestTarget(m.i));
    if (m) return this.session.replyErr(req, EINVAL);
    this.withArchive(req, ino, (fs) => fs.readlink(req, ino));
  }

  read(req: number, ino: number, size: number, offset: number): void {
    if (this.madeUp(ino)) return this.session.replyErr(req, EISDIR);
    this.withArchive(req, ino, (fs) => fs.read(req, ino, size, offset));
  }

  readdirplus(req: number, ino: number, size: number, offset: number): void {
    const m = this.madeUp(ino);
    if (!m) return this.withArchive(req, ino, (fs) => fs.readdirplus(req, ino, size, offset));
    if (m.kind === 'latest') return this.session.replyErr(req, ENOTDIR);
    // Entries: ".", "..", then the names (root) or "latest" and the archives (a name).
    const entries: { name: Buffer; ino: number; archive: boolean }[] = [];
    if (m.kind === 'root') this.names.forEach((d, i) => entries.push({ name: d.name, ino: this.nameDirIno(i), archive: false }));
    else {
      entries.push({ name: LATEST, ino: this.latestIno(m.i), archive: false });
      for (const k of this.names[m.i]!.archives) entries.push({ name: this.dirNames[k - 1]!, ino: k * SLOT + ArchiveTree.ROOT, archive: true });
    }
    this.session.replyDirectory(req, size, offset, {
      count: entries.length + 2,
      name: (pos) => (pos === 0 ? DOT : pos === 1 ? DOTDOT : entries[pos - 2]!.name),
      put: (pos, slot) => {
        const e = pos === 0 ? { ino, archive: false } : pos === 1 ? { ino: ROOT, archive: false } : entries[pos - 2]!;
        // An archive is listed as a directory without loading it; entering it sends a LOOKUP.
        if (e.archive) this.putDir(slot, e.ino, 0);
        else this.putMadeUp(slot, e.ino);
        return e.archive;
      },
    });
  }

  private getxattr(req: number, ino: number, name: Buffer, size: number): void {
    if (this.madeUp(ino)) return this.session.replyErr(req, ENODATA);
    const own = Buffer.from(name);
    this.withArchive(req, ino, (fs) => (fs.xattrs ? fs.xattrs.get(req, ino, own, size) : this.session.replyErr(req, ENODATA)));
  }

  private listxattr(req: number, ino: number, size: number): void {
    const none = (): void => (size === 0 ? this.session.replyXattrSize(req, 0) : this.session.replyData(req, EMPTY, 0));
    if (this.madeUp(ino)) return none();
    this.withArchive(req, ino, (fs) => (fs.xattrs ? fs.xattrs.list(req, ino, size) : none()));
  }

  statfs(req: number): void {
    this.session.replyStatfs(req, 0, this.archives.length);
  }
}

const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');
const EMPTY = Buffer.alloc(0);
