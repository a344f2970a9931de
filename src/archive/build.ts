/**
 * Builds the packed tables of an archive view from index entries, in archive order, with
 * the rules of extraction: "./" and "/" prefixes dropped, directories created for paths
 * that only imply them, a later entry for a path replacing an earlier one, and a hard
 * link naming the inode of the path it points at. Entries tar would refuse to extract
 * (paths with "..", links to nothing) are skipped and counted.
 */
import type { IndexEntry } from '../index/reader';
import { BodyRecord, CHUNK_ENTRY, CHUNK_FIELD, CHUNK_LIST_HEAD, encodedChunkList } from '../index/record';
import { ByteArena, Growable, keepAsView } from './packed';
import { PathIndex } from './path-index';
import {
  ArchiveTables,
  NO_REF,
  ROOT_INO,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
} from './tables';

/** Owner, mode and time for directories no entry describes. */
export interface ImpliedDirDefaults {
  uid: number;
  gid: number;
  mode: number;
  mtimeMs: number;
}

const SLASH = 0x2f;
const DOT = 0x2e;

/**
 * The path's components joined by "/", or null when extraction would refuse it (a ".."
 * component). Bytes in, bytes out: names that are not UTF-8 keep their exact bytes.
 */
export function normalizePath(path: Buffer): Buffer | null {
  // Most paths are already normal ("./" aside): they come back as a view, with no string made
  // (a string per path slowed a mount's start: bench/README.md).
  const start = path.length >= 2 && path[0] === DOT && path[1] === SLASH ? 2 : 0;
  for (let i = start, from = start; i <= path.length; i++) {
    if (i < path.length && path[i] !== SLASH) continue;
    const n = i - from;
    if (n === 0 || (n <= 2 && path[from] === DOT && (n === 1 || path[from + 1] === DOT))) return normalizedSlowly(path);
    from = i + 1;
  }
  return start === 0 ? path : path.subarray(start);
}

/** normalizePath for a path with empty, "." or ".." components, or a leading or trailing "/". */
function normalizedSlowly(path: Buffer): Buffer | null {
  const parts: string[] = [];
  for (const p of path.toString('latin1').split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') return null;
    parts.push(p);
  }
  return Buffer.from(parts.join('/'), 'latin1');
}

/** Where the last "/" before `end` is in `path`, or -1. */
function lastSlash(path: Buffer, end: number): number {
  let i = end - 1;
  while (i >= 0 && path[i] !== SLASH) i--;
  return i;
}

/** Linux's encoding of a device number (new_encode_dev). */
function makedev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

function typeBits(type: IndexEntry['header']['type']): number | null {
  switch (type) {
    case 'file':
    case 'contiguous':
      return S_IFREG;
    case 'directory':
    case 'dumpdir':
      return S_IFDIR;
    case 'symlink':
      return S_IFLNK;
    case 'chardev':
      return S_IFCHR;
    case 'blockdev':
      return S_IFBLK;
    case 'fifo':
      return S_IFIFO;
    default:
      return null;
  }
}

/** The first `n` bytes of `buf`: a view when it is nearly all used (keepAsView), else a copy. */
function trimmed(buf: Buffer, n: number): Buffer {
  return keepAsView(n, buf.length) ? buf.subarray(0, n) : Buffer.from(buf.subarray(0, n));
}

/** Whether nodes `kids` are in the order of their names' bytes. */
function inNameOrder(kids: Uint32Array, bytes: Buffer, offset: Uint32Array, length: Uint32Array): boolean {
  for (let i = 1; i < kids.length; i++) {
    const a = offset[kids[i - 1]!]!;
    const b = offset[kids[i]!]!;
    const aLength = length[kids[i - 1]!]!;
    const bLength = length[kids[i]!]!;
    const common = Math.min(aLength, bLength);
    let k = 0;
    while (k < common && bytes[a + k] === bytes[b + k]) k++;
    if (k < common ? bytes[a + k]! > bytes[b + k]! : aLength > bLength) return false;
  }
  return true;
}

export class ArchiveBuilder {
  // inodes
  private readonly mode = new Growable(Uint32Array);
  private readonly uid = new Growable(Uint32Array);
  private readonly gid = new Growable(Uint32Array);
  private readonly size = new Growable(Float64Array);
  private readonly mtimeMs = new Growable(Float64Array);
  private readonly ref = new Growable(Uint32Array);
  // nodes
  private readonly nodeParent = new Growable(Uint32Array);
  private readonly nodeIno = new Growable(Uint32Array);
  private readonly nameOffset = new Growable(Uint32Array);
  private readonly nameLength = new Growable(Uint32Array);
  // contents
  // Row r's chunks are chunk rows [chunkBounds[r], chunkBounds[r + 1]), its sparse segments
  // likewise: rows are added in order, so one array of bounds holds both start and end columns.
  private readonly chunkBounds = new Growable(Uint32Array);
  private readonly sparseBounds = new Growable(Uint32Array);
  // chunks
  private ids = Buffer.allocUnsafe(32 * 1024);
  private readonly chunkBrick = new Growable(Uint32Array);
  private readonly chunkOffset = new Growable(Uint32Array);
  private readonly chunkStored = new Growable(Uint32Array);
  private readonly chunkPlain = new Growable(Uint32Array);
  private readonly chunkBodyOffset = new Growable(Float64Array);
  private readonly brickIndex = new Map<string, number>();
  private readonly brickIds: Buffer[] = [];
  /** The brick of the last chunk added: most chunks are in the same brick as the one before. */
  private lastBrick = -1;
  // sparse segments
  private readonly segLogical = new Growable(Float64Array);
  private readonly segLength = new Growable(Float64Array);
  private readonly segStored = new Growable(Float64Array);
  // links
  private readonly linkOffset = new Growable(Uint32Array);
  private readonly linkLength = new Growable(Uint32Array);
  private readonly bytes = new ByteArena();
  private readonly xattrs = new Map<number, ReadonlyMap<string, Buffer>>();
  /** Normalised path to node, only while building. A path's node never changes (its inode may). */
  private readonly paths: PathIndex;
  /** The directory path last resolved (a copy) and its node. */
  private lastDirPath = Buffer.alloc(0);
  private lastDirNode = 0;

  /** Entries left out because extraction would refuse them. */
  skipped = 0;
  entries = 0;

  /**
   * `expectedEntries` (the index trailer's count, when known) sizes the per-entry and
   * per-chunk tables ahead: grown by doubling instead, their earlier stages were garbage
   * that the process kept resident for as long as it stayed mounted (glibc keeps freed
   * memory in its heap; the figures are in docs/ARCHITECTURE.md, Mount).
   */
  constructor(
    private readonly implied: ImpliedDirDefaults,
    expectedEntries = 0,
  ) {
    if (expectedEntries > 1024) {
      // Inodes, path nodes, contents and chunks: about one of each per entry in a tree of
      // small files. Room for the root and a few implied directories: one short would double.
      const inodes = [this.mode, this.uid, this.gid, this.size, this.mtimeMs, this.ref];
      const nodes = [this.nodeParent, this.nodeIno, this.nameOffset, this.nameLength];
      const contents = [this.chunkBounds, this.sparseBounds];
      const chunks = [this.chunkBrick, this.chunkOffset, this.chunkStored, this.chunkPlain, this.chunkBodyOffset];
      for (const g of [...inodes, ...nodes, ...contents, ...chunks]) g.reserve(expectedEntries + 64);
      this.ids = Buffer.allocUnsafe(32 * (expectedEntries + 64));
    }
    this.paths = new PathIndex(this.bytes, this.nameOffset, this.nameLength, expectedEntries);
    this.chunkBounds.push(0);
    this.sparseBounds.push(0);
    this.newInode(S_IFDIR | (implied.mode & 0o7777), implied.uid, implied.gid, 0, implied.mtimeMs, NO_REF); // ino 0: unused
    const root = this.newInode(S_IFDIR | (implied.mode & 0o7777), implied.uid, implied.gid, 0, implied.mtimeMs, NO_REF);
    if (root !== ROOT_INO) throw new Error('root inode must be 1');
    this.newNode(ROOT_INO, ROOT_INO, 0, this.lastDirPath, 0, 0);
  }

  add(entry: IndexEntry): void {
    this.entries++;
    const h = entry.header;
    const path = normalizePath(h.pathBytes);
    if (path === null) return void this.skipped++;
    if (h.type === 'hardlink') {
      const target = normalizePath(h.linkpathBytes);
      const targetNode = target === null ? -1 : this.findNode(target, target.length);
      const ino = targetNode < 0 ? undefined : this.nodeIno.get(targetNode);
      if (ino === undefined || (this.mode.get(ino) & S_IFMT) === S_IFDIR || path.length === 0) return void this.skipped++;
      this.nodeIno.set(this.nodeFor(path, path.length), ino);
      return;
    }
    const bits = typeBits(h.type);
    if (bits === null) return void this.skipped++;
    const mode = bits | (h.mode & 0o7777);
    const mtimeMs = h.mtime * 1000;
    const existing = this.findNode(path, path.length);
    if (bits === S_IFDIR && existing >= 0) {
      const ino = this.nodeIno.get(existing);
      if ((this.mode.get(ino) & S_IFMT) === S_IFDIR) {
        // A directory listed again (or after its contents) keeps its children and takes the new metadata.
        this.setMeta(ino, mode, h.uid, h.gid, mtimeMs);
        this.setXattrs(ino, h.xattrs);
        return;
      }
    }
    if (path.length === 0) {
      if (bits === S_IFDIR) this.setMeta(ROOT_INO, mode, h.uid, h.gid, mtimeMs);
      else this.skipped++;
      return;
    }
    let size = 0;
    let ref = NO_REF;
    if (bits === S_IFREG) {
      ref = this.addContent(entry.record);
      size = entry.record ? (entry.record.sparse?.realSize ?? entry.record.body.storedSize) : 0;
    } else if (bits === S_IFLNK) {
      ref = this.linkOffset.push(this.bytes.append(h.linkpathBytes));
      this.linkLength.push(h.linkpathBytes.length);
      size = h.linkpathBytes.length;
    } else if (bits === S_IFCHR || bits === S_IFBLK) ref = makedev(h.devmajor, h.devminor);
    const ino = this.newInode(mode, h.uid, h.gid, size, mtimeMs, ref);
    this.setXattrs(ino, h.xattrs);
    this.nodeIno.set(existing >= 0 ? existing : this.newPathNode(path, path.length), ino);
  }

  private setMeta(ino: number, mode: number, uid: number, gid: number, mtimeMs: number): void {
    this.mode.set(ino, mode);
    this.uid.set(ino, uid);
    this.gid.set(ino, gid);
    this.mtimeMs.set(ino, mtimeMs);
  }

  private setXattrs(ino: number, xattrs: ReadonlyMap<string, Buffer>): void {
    if (xattrs.size > 0) this.xattrs.set(ino, xattrs);
    else this.xattrs.delete(ino);
  }

  private newInode(mode: number, uid: number, gid: number, size: number, mtimeMs: number, ref: number): number {
    this.uid.push(uid);
    this.gid.push(gid);
    this.size.push(size);
    this.mtimeMs.push(mtimeMs);
    this.ref.push(ref);
    return this.mode.push(mode);
  }

  /** A node named path[from, to), in directory inode `parent` whose path's node is `parentNode`. */
  private newNode(parent: number, ino: number, parentNode: number, path: Buffer, from: number, to: number): number {
    this.nodeParent.push(parent);
    this.nameOffset.push(this.bytes.appendRange(path, from, to));
    this.nameLength.push(to - from);
    const node = this.nodeIno.push(ino);
    this.paths.add(node, parentNode, path, from, to);
    return node;
  }

  /** Whether path[0, end) is the directory path last resolved. */
  private isLastDir(path: Buffer, end: number): boolean {
    const last = this.lastDirPath;
    if (last.length !== end) return false;
    for (let i = 0; i < end; i++) if (last[i] !== path[i]) return false;
    return true;
  }

  /** The node of path[0, end) (normalised), or -1 when it has none. */
  private findNode(path: Buffer, end: number): number {
    if (end === 0) return 0;
    const slash = lastSlash(path, end);
    // Entries come grouped by directory: the last parent saves a walk up the path for most of them.
    const dir = slash < 0 ? 0 : this.isLastDir(path, slash) ? this.lastDirNode : this.findNode(path, slash);
    return dir < 0 ? -1 : this.paths.find(dir, path, slash + 1, end);
  }

  /** The node of path[0, end), creating it (and any missing parent directories) with a placeholder inode. */
  private nodeFor(path: Buffer, end: number): number {
    const node = this.findNode(path, end);
    return node >= 0 ? node : this.newPathNode(path, end);
  }

  /** nodeFor, for a path known to have no node yet. */
  private newPathNode(path: Buffer, end: number): number {
    const slash = lastSlash(path, end);
    if (slash < 0) return this.newNode(ROOT_INO, 0, 0, path, 0, end);
    const parent = this.dirInode(path, slash); // leaves the parent's node in lastDirNode
    return this.newNode(parent, 0, this.lastDirNode, path, slash + 1, end);
  }

  /** The directory inode at path[0, end), implied into existence (or replacing a non-directory) when needed. */
  private dirInode(path: Buffer, end: number): number {
    let node = this.lastDirNode;
    if (!this.isLastDir(path, end)) {
      node = this.nodeFor(path, end);
      this.lastDirPath = Buffer.from(path.subarray(0, end));
      this.lastDirNode = node;
    }
    const ino = this.nodeIno.get(node);
    if (ino !== 0 && (this.mode.get(ino) & S_IFMT) === S_IFDIR) return ino;
    const d = this.implied;
    const dir = this.newInode(S_IFDIR | (d.mode & 0o7777), d.uid, d.gid, 0, d.mtimeMs, NO_REF);
    this.nodeIno.set(node, dir);
    return dir;
  }

  private addContent(record: BodyRecord | null): number {
    if (record) {
      // Straight from the encoded list: no object or Buffer view per chunk.
      const { bytes: list, at: listAt } = encodedChunkList(record.body);
      const count = list.readUInt32LE(listAt);
      let body = 0;
      for (let i = 0, at = listAt + CHUNK_LIST_HEAD; i < count; i++, at += CHUNK_ENTRY) {
        const plain = list.readUInt32LE(at + CHUNK_FIELD.plainLength);
        const row = this.chunkPlain.push(plain);
        if ((row + 1) * 32 > this.ids.length) {
          const next = Buffer.allocUnsafe(this.ids.length * 2);
          this.ids.copy(next);
          this.ids = next;
        }
        // Byte by byte: Buffer.copy's native call costs more than 32 bytes of JS, and
        // writeUInt32LE's checks more than the bytes' own stores.
        const ids = this.ids;
        for (let b = 0, from = at + CHUNK_FIELD.id, to = row * 32; b < 32; b++) ids[to + b] = list[from + b]!;
        this.chunkBrick.push(this.brickRow(list, at + CHUNK_FIELD.brick));
        this.chunkOffset.push(list.readUInt32LE(at + CHUNK_FIELD.offset));
        this.chunkStored.push(list.readUInt32LE(at + CHUNK_FIELD.storedLength));
        this.chunkBodyOffset.push(body);
        body += plain;
      }
      if (record.sparse) {
        let stored = 0;
        for (const s of record.sparse.map) {
          this.segLogical.push(s.offset);
          this.segLength.push(s.length);
          this.segStored.push(stored);
          stored += s.length;
        }
      }
    }
    this.sparseBounds.push(this.segLength.length);
    return this.chunkBounds.push(this.chunkPlain.length) - 1;
  }

  /** The row of the brick whose 32-byte id is at `at` in `list`. */
  private brickRow(list: Buffer, at: number): number {
    // Compared word by word: a string key per chunk was a tenth of loading an index.
    const last = this.lastBrick >= 0 ? this.brickIds[this.lastBrick]! : null;
    if (last) {
      let b = 0;
      while (b < 32 && list.readInt32LE(at + b) === last.readInt32LE(b)) b += 4;
      if (b === 32) return this.lastBrick;
    }
    const key = list.toString('latin1', at, at + 32);
    let row = this.brickIndex.get(key);
    if (row === undefined) {
      row = this.brickIds.push(Buffer.from(list.subarray(at, at + 32))) - 1;
      this.brickIndex.set(key, row);
    }
    this.lastBrick = row;
    return row;
  }

  /** Link counts, sorted directory listings and exactly sized tables. */
  finish(): ArchiveTables {
    const mode = this.mode.seal();
    const nodeParent = this.nodeParent.seal();
    const nodeIno = this.nodeIno.seal();
    const nameOffset = this.nameOffset.seal();
    const nameLength = this.nameLength.seal();
    const bytes = this.bytes.seal();
    const inodeCount = mode.length;
    const nlink = new Uint32Array(inodeCount);
    const inodeNode = new Uint32Array(inodeCount);
    const ref = this.ref.seal();
    const chunkBounds = this.chunkBounds.seal();
    const sparseBounds = this.sparseBounds.seal();
    // Count children per directory, then place node numbers (counting sort by parent).
    const dirOf = new Uint32Array(inodeCount).fill(NO_REF);
    let dirCount = 0;
    for (let ino = ROOT_INO; ino < inodeCount; ino++) {
      if ((mode[ino]! & S_IFMT) === S_IFDIR) {
        dirOf[ino] = dirCount++;
        nlink[ino] = 2;
        ref[ino] = dirOf[ino]!;
      }
    }
    const start = new Uint32Array(dirCount + 1);
    for (let n = 1; n < nodeIno.length; n++) {
      const ino = nodeIno[n]!;
      inodeNode[ino] = n;
      const d = dirOf[nodeParent[n]!]!;
      start[d + 1]!++;
      if ((mode[ino]! & S_IFMT) === S_IFDIR) nlink[nodeParent[n]!]!++;
      else nlink[ino]!++;
    }
    for (let d = 0; d < dirCount; d++) start[d + 1]! += start[d]!;
    const fill = start.slice(0, dirCount);
    const children = new Uint32Array(nodeIno.length - 1);
    for (let n = 1; n < nodeIno.length; n++) children[fill[dirOf[nodeParent[n]!]!]!++] = n;
    // Many archives list each directory in name order (tar --sort=name, Python's tarfile): such a
    // directory, checked on the bytes, needs no string per name. Others are sorted by latin1
    // strings, which order as their bytes do and compare far faster than Buffer ranges.
    const names = new Array<string>(nodeIno.length);
    for (let d = 0; d < dirCount; d++) {
      const kids = children.subarray(start[d]!, start[d + 1]!);
      if (inNameOrder(kids, bytes, nameOffset, nameLength)) continue;
      for (const n of kids) names[n] = bytes.toString('latin1', nameOffset[n]!, nameOffset[n]! + nameLength[n]!);
      kids.sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0));
    }
    return {
      inodes: {
        mode,
        uid: this.uid.seal(),
        gid: this.gid.seal(),
        size: this.size.seal(),
        mtimeMs: this.mtimeMs.seal(),
        nlink,
        ref,
        node: inodeNode,
      },
      nodes: { parent: nodeParent, ino: nodeIno, nameOffset, nameLength },
      dirs: { start: start.subarray(0, dirCount), end: start.subarray(1), children },
      contents: {
        chunkStart: chunkBounds.subarray(0, chunkBounds.length - 1),
        chunkEnd: chunkBounds.subarray(1),
        sparseStart: sparseBounds.subarray(0, sparseBounds.length - 1),
        sparseEnd: sparseBounds.subarray(1),
      },
      chunks: {
        ids: trimmed(this.ids, this.chunkPlain.length * 32),
        brick: this.chunkBrick.seal(),
        offset: this.chunkOffset.seal(),
        storedLength: this.chunkStored.seal(),
        plainLength: this.chunkPlain.seal(),
        bodyOffset: this.chunkBodyOffset.seal(),
        bricks: Buffer.concat(this.brickIds),
      },
      sparse: { logical: this.segLogical.seal(), length: this.segLength.seal(), stored: this.segStored.seal() },
      bytes,
      links: { offset: this.linkOffset.seal(), length: this.linkLength.seal() },
      xattrs: this.xattrs,
    };
  }
}
