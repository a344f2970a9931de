/**
 * The tree cache (docs/FORMAT.md, "Tree cache"): an index file's loaded tables, kept sealed in the cache
 * directory under a name derived from the index's MAC, so that mounting the same index again
 * reads a few bytes per entry instead of parsing the whole index tar. Whatever a cache file
 * holds is only used once the index's trailer authenticates with the store's key and the file
 * opens under the store's data key with that trailer's MAC as associated data; anything else
 * (absent, damaged, another dtar's layout) is a miss, never a wrong tree.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { sealPieces, tryOpen } from '../crypto/aead';
import { writeCacheFile } from '../fs/cache-file';
import type { IndexMeta, IndexTrailer } from '../index/meta';
import type { ImpliedDirDefaults } from './build';
import type { ArchiveTables } from './tables';

/** Bumped whenever the builder's output or this layout changes: older cache files are then misses. */
const TREE_LAYOUT = 1;
const MAGIC = Buffer.from('DTARTRE1', 'latin1');
/** Trees kept; the least recently mounted go first. */
const KEEP = 8;
const STORE_ID = /^[0-9a-f]{32}$/;

type Column = Uint32Array | Float64Array | Buffer;
/** u: Uint32Array, f: Float64Array, b: bytes. */
type Kind = 'u' | 'f' | 'b';

/** A column pair whose end column is its start column shifted by one row, as one array of n + 1 bounds. */
function bounds(start: Uint32Array, end: Uint32Array): Uint32Array {
  const b = new Uint32Array(start.length + 1);
  b.set(start);
  b[start.length] = end.length > 0 ? end[end.length - 1]! : 0;
  return b;
}

/** The tables' columns, in the order of KINDS. */
function columns(t: ArchiveTables): Column[] {
  return [
    t.inodes.mode, t.inodes.uid, t.inodes.gid, t.inodes.size, t.inodes.mtimeMs, t.inodes.nlink, t.inodes.ref, t.inodes.node,
    t.nodes.parent, t.nodes.ino, t.nodes.nameOffset, t.nodes.nameLength,
    bounds(t.dirs.start, t.dirs.end), t.dirs.children,
    bounds(t.contents.chunkStart, t.contents.chunkEnd), bounds(t.contents.sparseStart, t.contents.sparseEnd),
    t.chunks.ids, t.chunks.brick, t.chunks.offset, t.chunks.storedLength, t.chunks.plainLength, t.chunks.bodyOffset, t.chunks.bricks,
    t.sparse.logical, t.sparse.length, t.sparse.stored,
    t.bytes, t.links.offset, t.links.length,
    xattrBytes(t.xattrs),
  ];
}
const KINDS: readonly Kind[] = [...'uuuffuuuuuuuuuuubuuuufbfffbuub'] as Kind[];

function tablesOf(c: Column[]): ArchiveTables {
  const u = (i: number): Uint32Array => c[i] as Uint32Array;
  const f = (i: number): Float64Array => c[i] as Float64Array;
  const b = (i: number): Buffer => c[i] as Buffer;
  const pair = (i: number) => [u(i).subarray(0, u(i).length - 1), u(i).subarray(1)] as const;
  const [dirStart, dirEnd] = pair(12);
  const [chunkStart, chunkEnd] = pair(14);
  const [sparseStart, sparseEnd] = pair(15);
  return {
    inodes: { mode: u(0), uid: u(1), gid: u(2), size: f(3), mtimeMs: f(4), nlink: u(5), ref: u(6), node: u(7) },
    nodes: { parent: u(8), ino: u(9), nameOffset: u(10), nameLength: u(11) },
    dirs: { start: dirStart, end: dirEnd, children: u(13) },
    contents: { chunkStart, chunkEnd, sparseStart, sparseEnd },
    chunks: { ids: b(16), brick: u(17), offset: u(18), storedLength: u(19), plainLength: u(20), bodyOffset: f(21), bricks: b(22) },
    sparse: { logical: f(23), length: f(24), stored: f(25) },
    bytes: b(26),
    links: { offset: u(27), length: u(28) },
    xattrs: xattrsOf(b(29)),
  };
}

/** ino u32, count u32, then per attribute name length u32, name (UTF-8), value length u32, value. */
function xattrBytes(xattrs: ReadonlyMap<number, ReadonlyMap<string, Buffer>>): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number): void => void parts.push(Buffer.from(new Uint32Array([n]).buffer));
  for (const [ino, attrs] of xattrs) {
    u32(ino);
    u32(attrs.size);
    for (const [name, value] of attrs) {
      const n = Buffer.from(name, 'utf8');
      u32(n.length);
      parts.push(n);
      u32(value.length);
      parts.push(value);
    }
  }
  return Buffer.concat(parts);
}

function xattrsOf(b: Buffer): Map<number, ReadonlyMap<string, Buffer>> {
  const out = new Map<number, ReadonlyMap<string, Buffer>>();
  let at = 0;
  const u32 = (): number => ((at += 4), b.readUInt32LE(at - 4));
  const bytes = (n: number): Buffer => ((at += n), Buffer.from(b.subarray(at - n, at)));
  while (at < b.length) {
    const ino = u32();
    const attrs = new Map<string, Buffer>();
    for (let k = u32(); k > 0; k--) attrs.set(bytes(u32()).toString('utf8'), bytes(u32()));
    out.set(ino, attrs);
  }
  return out;
}

const pad8 = (n: number): number => (n + 7) & ~7;
const PIECE = 64 * 1024;

/** Plaintext: layout u32, column count u32, entries f64, skipped f64, byte length f64 per column; then the columns, each at a multiple of 8. As pieces: the columns are not copied. */
function encode(tables: ArchiveTables, counts: TreeCounts): Uint8Array[] {
  const cols = columns(tables);
  const head = Buffer.alloc(8 + 8 * (2 + cols.length));
  head.writeUInt32LE(TREE_LAYOUT, 0);
  head.writeUInt32LE(cols.length, 4);
  head.writeDoubleLE(counts.entries, 8);
  head.writeDoubleLE(counts.skipped, 16);
  cols.forEach((c, i) => head.writeDoubleLE(c.byteLength, 24 + 8 * i));
  const pieces: Uint8Array[] = [head];
  for (const c of cols) {
    // Small pieces: each is sealed into a buffer of its size, and glibc keeps large freed ones resident.
    for (let at = 0; at < c.byteLength; at += PIECE) pieces.push(new Uint8Array(c.buffer, c.byteOffset + at, Math.min(PIECE, c.byteLength - at)));
    if (pad8(c.byteLength) > c.byteLength) pieces.push(new Uint8Array(pad8(c.byteLength) - c.byteLength));
  }
  return pieces;
}

function decode(plain: Buffer): { tables: ArchiveTables; counts: TreeCounts } | null {
  // Typed views need their element alignment.
  const p = plain.byteOffset % 8 === 0 ? plain : Buffer.from(plain);
  if (p.length < 8 || p.readUInt32LE(0) !== TREE_LAYOUT || p.readUInt32LE(4) !== KINDS.length) return null;
  const headBytes = 8 + 8 * (2 + KINDS.length);
  if (p.length < headBytes) return null;
  const head = new Float64Array(p.buffer, p.byteOffset + 8, 2 + KINDS.length);
  const cols: Column[] = [];
  let at = headBytes;
  for (let i = 0; i < KINDS.length; i++) {
    const kind = KINDS[i]!;
    const length = head[2 + i]!;
    const unit = kind === 'b' ? 1 : kind === 'u' ? 4 : 8;
    if (!Number.isSafeInteger(length) || length % unit !== 0 || at + length > p.length) return null;
    const offset = p.byteOffset + at;
    cols.push(kind === 'b' ? p.subarray(at, at + length) : kind === 'u' ? new Uint32Array(p.buffer, offset, length / 4) : new Float64Array(p.buffer, offset, length / 8));
    at += pad8(length);
  }
  return { tables: tablesOf(cols), counts: { entries: head[0]!, skipped: head[1]! } };
}

export interface TreeCounts {
  entries: number;
  skipped: number;
}

/** One index's place in the tree cache. */
export class CachedTree {
  private constructor(
    readonly path: string,
    private readonly aad: Buffer,
  ) {}

  /**
   * The place of an index whose trailer (read from its end) has a MAC, under `cacheRoot`;
   * null when it cannot have one (version 1 index, no cache directory). The name covers what
   * the tables depend on besides the index: the implied directories' owner and mode.
   */
  static of(cacheRoot: string | null, meta: IndexMeta, trailer: IndexTrailer | null, implied: Omit<ImpliedDirDefaults, 'mtimeMs'>): CachedTree | null {
    if (!cacheRoot || !trailer?.seal || !STORE_ID.test(meta.storeId)) return null;
    const name = createHash('sha256')
      .update(`dtar-tree ${TREE_LAYOUT} ${meta.sealer ?? ''} ${implied.uid} ${implied.gid} ${implied.mode}\0`)
      .update(trailer.seal.mac)
      .digest('hex');
    return new CachedTree(join(cacheRoot, meta.storeId, 'trees', name), Buffer.concat([Buffer.from('dtar-tree-v1\0', 'latin1'), trailer.seal.mac]));
  }

  async exists(): Promise<boolean> {
    return stat(this.path).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  /** The cached tables, or null (absent, damaged, not sealed with `dataKey` for this index). */
  async load(dataKey: Buffer): Promise<{ tables: ArchiveTables; counts: TreeCounts } | null> {
    const file = await readFile(this.path).catch(() => null);
    if (!file || !file.subarray(0, MAGIC.length).equals(MAGIC)) return null;
    const plain = tryOpen(dataKey, file.subarray(MAGIC.length), this.aad);
    const tree = plain && decode(plain);
    if (tree) await utimes(this.path, new Date(), new Date()).catch(() => undefined); // recently used
    return tree;
  }

  /** Keeps the tables of an index that authenticated; failures only cost a parse next time. */
  async save(dataKey: Buffer, tables: ArchiveTables, counts: TreeCounts): Promise<void> {
    try {
      await writeCacheFile(this.path, async (file) => {
        await file.write(MAGIC);
        // Sealed a column at a time: no copy of the tables, which a mount keeps for its life.
        await sealPieces(dataKey, encode(tables, counts), this.aad, async (b) => {
          for (let at = 0; at < b.length; ) at += (await file.write(b, at)).bytesWritten;
        });
      });
      await evict(join(this.path, '..'));
    } catch {
      // A tree that cannot be kept is parsed again next time.
    }
  }
}

/** Keeps the KEEP most recently used trees of a store. */
async function evict(dir: string): Promise<void> {
  const names = (await readdir(dir)).filter((n) => /^[0-9a-f]{64}$/.test(n));
  if (names.length <= KEEP) return;
  const aged = await Promise.all(names.map(async (n) => ({ n, t: (await stat(join(dir, n)).catch(() => null))?.mtimeMs ?? 0 })));
  aged.sort((a, b) => b.t - a.t);
  await Promise.all(aged.slice(KEEP).map(({ n }) => unlink(join(dir, n)).catch(() => undefined)));
}
