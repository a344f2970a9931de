/**
 * The read side of an archive's namespace: path resolution, directory listings, stat,
 * link targets and extended attributes, all answered from the packed tables without
 * allocating per entry. Inode numbers are positions in those tables, so they are the same
 * every time an index is loaded.
 */
import { ArchiveTables, NO_REF, ROOT_INO, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG } from './tables';

export type InodeKind = 'file' | 'directory' | 'symlink' | 'chardev' | 'blockdev' | 'fifo';

export interface InodeStat {
  ino: number;
  kind: InodeKind;
  /** st_mode: type bits and permissions. */
  mode: number;
  uid: number;
  gid: number;
  /** Logical size: a sparse file's expanded size, a symlink's target length. */
  size: number;
  /** Bytes the file really holds (a sparse file's data segments), for st_blocks. */
  storedSize: number;
  mtimeMs: number;
  nlink: number;
  /** Device number (Linux encoding) of a character or block device. */
  rdev: number;
}

export interface DirEntry {
  name: string;
  ino: number;
}

const KINDS = new Map<number, InodeKind>([
  [S_IFREG, 'file'],
  [S_IFDIR, 'directory'],
  [S_IFLNK, 'symlink'],
  [S_IFCHR, 'chardev'],
  [S_IFBLK, 'blockdev'],
  [S_IFIFO, 'fifo'],
]);

export class ArchiveTree {
  static readonly ROOT = ROOT_INO;

  constructor(readonly tables: ArchiveTables) {}

  /** Highest inode number + 1. */
  get inodeCount(): number {
    return this.tables.inodes.mode.length;
  }

  has(ino: number): boolean {
    return Number.isInteger(ino) && ino >= ROOT_INO && ino < this.inodeCount;
  }

  kind(ino: number): InodeKind {
    return KINDS.get(this.tables.inodes.mode[ino]! & S_IFMT)!;
  }

  stat(ino: number): InodeStat {
    const t = this.tables.inodes;
    const ref = t.ref[ino]!;
    const kind = this.kind(ino);
    return {
      ino,
      kind,
      mode: t.mode[ino]!,
      uid: t.uid[ino]!,
      gid: t.gid[ino]!,
      size: t.size[ino]!,
      storedSize: kind === 'file' && ref !== NO_REF ? this.storedBytes(ref) : t.size[ino]!,
      mtimeMs: t.mtimeMs[ino]!,
      nlink: t.nlink[ino]!,
      rdev: kind === 'chardev' || kind === 'blockdev' ? ref : 0,
    };
  }

  /** Bytes of a stored body (sparse files: of their data, without holes): where its last chunk ends. */
  private storedBytes(row: number): number {
    const c = this.tables.contents;
    const ch = this.tables.chunks;
    const last = c.chunkEnd[row]! - 1;
    return last < c.chunkStart[row]! ? 0 : ch.bodyOffset[last]! + ch.plainLength[last]!;
  }

  /** The child called `name` in directory `dir`, or null. */
  lookup(dir: number, name: string): number | null {
    return this.lookupName(dir, Buffer.from(name));
  }

  /** The child whose name is exactly these bytes (names need not be UTF-8), or null. */
  lookupName(dir: number, name: Buffer): number | null {
    if (!this.has(dir) || (this.tables.inodes.mode[dir]! & S_IFMT) !== S_IFDIR) return null;
    const i = this.childIndex(dir, name);
    return i === null ? null : this.tables.nodes.ino[this.tables.dirs.children[i]!]!;
  }

  /** How many entries a directory holds (without "." and ".."); 0 for anything else. */
  entryCount(dir: number): number {
    const t = this.tables;
    if (!this.has(dir) || (t.inodes.mode[dir]! & S_IFMT) !== S_IFDIR) return 0;
    const d = t.inodes.ref[dir]!;
    return t.dirs.end[d]! - t.dirs.start[d]!;
  }

  /** The inode of a directory's i-th entry in readdir order (i < entryCount). */
  entryIno(dir: number, i: number): number {
    const t = this.tables;
    return t.nodes.ino[t.dirs.children[t.dirs.start[t.inodes.ref[dir]!]! + i]!]!;
  }

  /** The name bytes of a directory's i-th entry (a view of the tables, not a copy). */
  entryName(dir: number, i: number): Buffer {
    const t = this.tables;
    const n = t.dirs.children[t.dirs.start[t.inodes.ref[dir]!]! + i]!;
    const off = t.nodes.nameOffset[n]!;
    return t.bytes.subarray(off, off + t.nodes.nameLength[n]!);
  }

  /** Position in the directory's children table of the entry whose name is `want`, or null. */
  private childIndex(dir: number, want: Buffer): number | null {
    const t = this.tables;
    const d = t.inodes.ref[dir]!;
    let lo = t.dirs.start[d]!;
    let hi = t.dirs.end[d]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const n = t.dirs.children[mid]!;
      const off = t.nodes.nameOffset[n]!;
      const c = t.bytes.compare(want, 0, want.length, off, off + t.nodes.nameLength[n]!);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return null;
  }

  /**
   * The inodes listed after `ino` in its directory, in readdir order (for a hard-linked
   * file, after the name pathOf gives). Walkers such as tar, cp and diff read them next.
   */
  *following(ino: number): Generator<number> {
    if (ino === ROOT_INO || !this.has(ino)) return;
    const t = this.tables;
    const node = t.inodes.node[ino]!;
    const dir = t.nodes.parent[node]!;
    const off = t.nodes.nameOffset[node]!;
    const at = this.childIndex(dir, t.bytes.subarray(off, off + t.nodes.nameLength[node]!));
    if (at === null) return;
    const end = t.dirs.end[t.inodes.ref[dir]!]!;
    for (let i = at + 1; i < end; i++) yield t.nodes.ino[t.dirs.children[i]!]!;
  }

  /**
   * The inodes a depth-first walk in readdir order (tar, cp -a, diff -r) meets after `ino`:
   * what it holds if it is a directory, then the rest of its directory (descending into the
   * directories there as they come), then the rest of each directory above.
   */
  *walkAfter(ino: number): Generator<number> {
    if (this.has(ino) && this.kind(ino) === 'directory') yield* this.below(ino);
    for (let cur = ino; cur !== ROOT_INO && this.has(cur); cur = this.parentOf(cur)) {
      for (const next of this.following(cur)) {
        yield next;
        if (this.kind(next) === 'directory') yield* this.below(next);
      }
    }
  }

  /** Every inode below a directory, depth first in readdir order. */
  private *below(dir: number): Generator<number> {
    const t = this.tables;
    const d = t.inodes.ref[dir]!;
    for (let i = t.dirs.start[d]!; i < t.dirs.end[d]!; i++) {
      const ino = t.nodes.ino[t.dirs.children[i]!]!;
      yield ino;
      if (this.kind(ino) === 'directory') yield* this.below(ino);
    }
  }

  /** The inode at a "/"-separated path (leading "/" optional), or null. */
  resolve(path: string): number | null {
    let ino: number | null = ROOT_INO;
    for (const part of path.split('/')) {
      if (part === '' || part === '.') continue;
      ino = this.lookup(ino, part);
      if (ino === null) return null;
    }
    return ino;
  }

  /** A directory's entries sorted by name (without "." and ".."). */
  readdir(dir: number): DirEntry[] {
    const t = this.tables;
    if ((t.inodes.mode[dir]! & S_IFMT) !== S_IFDIR) return [];
    const d = t.inodes.ref[dir]!;
    const out: DirEntry[] = [];
    for (let i = t.dirs.start[d]!; i < t.dirs.end[d]!; i++) {
      const n = t.dirs.children[i]!;
      out.push({ name: this.nameOf(n), ino: t.nodes.ino[n]! });
    }
    return out;
  }

  /** A symlink's target as stored (bytes, which need not be UTF-8). */
  readlink(ino: number): Buffer | null {
    if (this.kind(ino) !== 'symlink') return null;
    const l = this.tables.links;
    const r = this.tables.inodes.ref[ino]!;
    return this.tables.bytes.subarray(l.offset[r]!, l.offset[r]! + l.length[r]!);
  }

  xattrs(ino: number): ReadonlyMap<string, Buffer> {
    return this.tables.xattrs.get(ino) ?? EMPTY_XATTRS;
  }

  /** The directory holding an inode (for a hard-linked file, its last name's; the root is its own parent). */
  parentOf(ino: number): number {
    if (ino === ROOT_INO) return ROOT_INO;
    const t = this.tables;
    return t.nodes.parent[t.inodes.node[ino]!]!;
  }

  /** One path of an inode (for a hard-linked file, the last name given to it), without a leading "/". */
  pathOf(ino: number): string {
    const t = this.tables;
    const parts: string[] = [];
    let cur = ino;
    for (let depth = 0; cur !== ROOT_INO && depth < 4096; depth++) {
      const n = t.inodes.node[cur]!;
      parts.push(this.nameOf(n));
      cur = t.nodes.parent[n]!;
    }
    return parts.reverse().join('/');
  }

  /** Every path below a directory, depth first in name order, with its inode. */
  *walk(dir: number = ROOT_INO, prefix = ''): Generator<DirEntry & { path: string }> {
    for (const e of this.readdir(dir)) {
      const path = prefix + e.name;
      yield { ...e, path };
      if (this.kind(e.ino) === 'directory') yield* this.walk(e.ino, path + '/');
    }
  }

  private nameOf(node: number): string {
    const n = this.tables.nodes;
    const off = n.nameOffset[node]!;
    return this.tables.bytes.toString('utf8', off, off + n.nameLength[node]!);
  }
}

const EMPTY_XATTRS: ReadonlyMap<string, Buffer> = new Map();
