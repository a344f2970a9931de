/**
 * Reading file contents out of an archive view: a logical byte range is mapped through the
 * sparse map (holes read as zeros) to the stored body, then to the chunks holding it
 * (binary search over their body offsets), which come through the chunk cache. An open
 * file notices sequential reading and fetches the chunks ahead of it in parallel, with a
 * window that doubles up to a bound while the reader keeps going. Likewise, files opened
 * one after another in the order of a depth-first walk (tar, cp -a, diff -r) get the next
 * files of the walk fetched before they are opened, across directories: most files are
 * smaller than a chunk, so reading ahead inside each file alone would leave the workers
 * idle between files, and a sweep that stopped at the end of a directory left them idle
 * at the start of each of the next.
 */
import { DtarError, escapeName } from '../errors';
import type { CachedChunk, ChunkCache } from './chunk-cache';
import { NO_REF, S_IFMT, S_IFREG } from './tables';
import type { ArchiveTree } from './tree';

/** Read-ahead window bounds, in bytes of the logical file. */
const MIN_WINDOW = 2 * 1024 * 1024;
const MAX_WINDOW = 32 * 1024 * 1024;
/** Reads starting this close to the furthest byte read so far count as sequential (the kernel issues read-ahead out of order). */
const SEQUENTIAL_SLACK = 8 * 1024 * 1024;
/** An open this few entries after the previous one in walk order continues a sweep. */
const SWEEP_GAP = 8;
/** Files fetched ahead of a sweep: at most this many, and bytes of each at most MIN_WINDOW. */
const SWEEP_FILES = 64;
/** Entries looked at per open, at most (a walk may pass many directories and links). */
const SWEEP_SCAN = 1024;

/** Bytes [start, end) of a cached chunk, to go to `at` in the output. */
interface Copy {
  row: number;
  entry: CachedChunk;
  at: number;
  start: number;
  end: number;
}

/** A piece of a read: `length` bytes at `stored` in the body go to `dest` in the output. */
interface Piece {
  stored: number;
  length: number;
  dest: number;
}

export class ContentReader {
  private readonly maxWindow: number;
  /** The file opened last, to notice walkers that open files in walk order. */
  private lastOpened = -1;
  private sweep: Sweep | null = null;

  constructor(
    private readonly tree: ArchiveTree,
    private readonly cache: ChunkCache,
  ) {
    // Read-ahead must not evict what is being read.
    this.maxWindow = Math.max(MIN_WINDOW, Math.min(MAX_WINDOW, Math.floor(cache.maxBytes / 8)));
  }

  private contentRow(ino: number): number {
    const t = this.tree.tables.inodes;
    if (!this.tree.has(ino) || (t.mode[ino]! & S_IFMT) !== S_IFREG || t.ref[ino] === NO_REF) throw new TypeError(`inode ${ino} is not a regular file`);
    return t.ref[ino]!;
  }

  /** Where the bytes [offset, offset + length) of a file's logical contents are stored. */
  private pieces(ino: number, offset: number, length: number): Piece[] {
    const c = this.tree.tables.contents;
    const row = this.contentRow(ino);
    const s0 = c.sparseStart[row]!;
    const s1 = c.sparseEnd[row]!;
    if (s0 === s1) return [{ stored: offset, length, dest: 0 }];
    const sp = this.tree.tables.sparse;
    const end = offset + length;
    // First segment ending after offset.
    let lo = s0;
    let hi = s1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sp.logical[mid]! + sp.length[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    const out: Piece[] = [];
    for (let s = lo; s < s1 && sp.logical[s]! < end; s++) {
      const from = Math.max(offset, sp.logical[s]!);
      const to = Math.min(end, sp.logical[s]! + sp.length[s]!);
      if (to > from) out.push({ stored: sp.stored[s]! + (from - sp.logical[s]!), length: to - from, dest: from - offset });
    }
    return out;
  }

  /** Chunk rows covering stored bytes [from, to) of a content row. */
  private chunkRows(row: number, from: number, to: number, into: number[]): void {
    const c = this.tree.tables.contents;
    const ch = this.tree.tables.chunks;
    const end = c.chunkEnd[row]!;
    let lo = c.chunkStart[row]!;
    let hi = end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ch.bodyOffset[mid]! + ch.plainLength[mid]! <= from) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < end && ch.bodyOffset[k]! < to; k++) into.push(k);
  }

  /**
   * Reads up to `length` bytes at `offset` of a regular file into `into` (from its start);
   * gives the number of bytes read, short only at the end of the file: at once when every
   * chunk needed is in the cache (most reads: no promise on the way), else as a promise.
   * Store errors reject with DtarErrors naming the file and the brick.
   */
  read(ino: number, offset: number, length: number, into: Buffer): number | Promise<number> {
    let n: number;
    const waiting: Copy[] = [];
    try {
      const size = this.tree.tables.inodes.size[ino]!;
      n = Math.max(0, Math.min(length, into.length, size - offset));
      if (n === 0) return 0;
      for (const c of this.copies(ino, offset, n, into)) {
        if (!this.cache.copyNow(c.row, into, c.at, c.start, c.end, c.entry)) waiting.push(c);
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return waiting.length === 0 ? n : this.finish(ino, n, into, waiting);
  }

  private async finish(ino: number, n: number, into: Buffer, waiting: readonly Copy[]): Promise<number> {
    const copies = waiting.map((c) => this.cache.copy(c.row, into, c.at, c.start, c.end, c.entry));
    try {
      await Promise.all(copies);
    } catch (e) {
      for (const c of copies) c.catch(() => undefined);
      throw e instanceof DtarError ? e.withContext(escapeName(this.tree.pathOf(ino))) : e;
    }
    return n;
  }

  /** What to copy, from which cached chunk, for bytes [offset, offset + n) of a file (holes are zeroed here). */
  private copies(ino: number, offset: number, n: number, into: Buffer): Copy[] {
    const row = this.contentRow(ino);
    const pieces = this.pieces(ino, offset, n);
    const covered = pieces.reduce((a, p) => a + p.length, 0);
    if (covered < n) into.fill(0, 0, n); // holes
    const rows: number[] = [];
    for (const p of pieces) this.chunkRows(row, p.stored, p.stored + p.length, rows);
    const entries = this.cache.load(rows);
    const ch = this.tree.tables.chunks;
    const out: Copy[] = [];
    let k = 0;
    for (const p of pieces) {
      const pEnd = p.stored + p.length;
      // Rows were collected piece by piece, in order: skip to this piece's first chunk.
      while (ch.bodyOffset[rows[k]!]! + ch.plainLength[rows[k]!]! <= p.stored) k++;
      for (let j = k; j < rows.length && ch.bodyOffset[rows[j]!]! < pEnd; j++) {
        const r = rows[j]!;
        const from = Math.max(p.stored, ch.bodyOffset[r]!);
        const to = Math.min(pEnd, ch.bodyOffset[r]! + ch.plainLength[r]!);
        out.push({ row: r, entry: entries[j]!, at: p.dest + (from - p.stored), start: from - ch.bodyOffset[r]!, end: to - ch.bodyOffset[r]! });
      }
    }
    return out;
  }

  /** Starts fetching the chunks behind logical bytes [offset, offset + length) of a file. */
  prefetch(ino: number, offset: number, length: number): void {
    const rows: number[] = [];
    this.rowsBehind(ino, offset, length, rows);
    this.cache.prefetch(rows);
  }

  /** Fetches chunk rows gathered with rowsBehind(): asked for together, neighbours in a brick come in one read. */
  prefetchRows(rows: readonly number[]): void {
    this.cache.prefetch(rows);
  }

  /** Adds the chunk rows behind logical bytes [offset, offset + length) of a file to `rows`. */
  rowsBehind(ino: number, offset: number, length: number, rows: number[]): void {
    const size = this.tree.tables.inodes.size[ino]!;
    const n = Math.min(length, size - offset);
    if (n <= 0) return;
    const row = this.contentRow(ino);
    for (const p of this.pieces(ino, offset, n)) this.chunkRows(row, p.stored, p.stored + p.length, rows);
  }

  /** A reader of one file that reads ahead while it is read sequentially. */
  open(ino: number): OpenFile {
    this.contentRow(ino);
    // A walker keeps its sweep going; an open elsewhere (another reader) leaves it be.
    if (this.sweep?.reached(ino)) this.sweep.fill();
    else if (this.continuesSweep(ino)) (this.sweep = new Sweep(this, ino, this.maxWindow / 2)).fill();
    this.lastOpened = ino;
    return new OpenFile(this, ino, this.maxWindow);
  }

  private continuesSweep(ino: number): boolean {
    let k = 0;
    for (const next of this.tree.walkAfter(this.lastOpened)) {
      if (next === ino) return true;
      if (++k >= SWEEP_GAP) break;
    }
    return false;
  }

  /** Where a walk goes after `ino`. */
  walkAfter(ino: number): Iterator<number> {
    return this.tree.walkAfter(ino);
  }

  /** How many bytes at the start of `ino` a sweep fetches ahead: null if it is not a regular file, 0 if it has no contents. */
  sweepBytes(ino: number): number | null {
    const t = this.tree.tables.inodes;
    if ((t.mode[ino]! & S_IFMT) !== S_IFREG) return null;
    return t.ref[ino] === NO_REF ? 0 : Math.min(t.size[ino]!, MIN_WINDOW);
  }

  /** A whole file as a stream of buffers (for cat and extract). */
  async *stream(ino: number, blockSize = 1024 * 1024): AsyncGenerator<Buffer> {
    const f = this.open(ino);
    const size = this.tree.tables.inodes.size[ino]!;
    for (let at = 0; at < size; at += blockSize) {
      const buf = Buffer.allocUnsafe(Math.min(blockSize, size - at));
      const n = await f.read(at, buf.length, buf);
      yield buf.subarray(0, n);
    }
  }
}

/**
 * The files fetched ahead of a walker, in walk order, and where its walk goes on: each open
 * the walker makes drops the files up to it, and once half the sweep is behind it, it is
 * topped up, so an open costs no new walk over the whole window.
 */
class Sweep {
  private readonly ahead: { ino: number; bytes: number }[] = [];
  private bytes = 0;
  private readonly walk: Iterator<number>;

  constructor(
    private readonly reader: ContentReader,
    from: number,
    private readonly maxBytes: number,
  ) {
    this.walk = reader.walkAfter(from);
  }

  /** Whether the walker has come to `ino`, one of the files fetched ahead (dropping those up to it). */
  reached(ino: number): boolean {
    const i = this.ahead.findIndex((a) => a.ino === ino);
    if (i < 0) return false;
    for (const a of this.ahead.splice(0, i + 1)) this.bytes -= a.bytes;
    return true;
  }

  /**
   * Fetches the beginnings of the next files of the walk, up to the sweep's bounds, asked for
   * together: small files in one brick come in one read and go to a worker as one job.
   */
  fill(): void {
    // Topped up by halves, so that what is asked for together is many files, not one.
    if (this.ahead.length > SWEEP_FILES / 2 || this.bytes > this.maxBytes / 2) return;
    const rows: number[] = [];
    for (let scanned = 0; scanned < SWEEP_SCAN && this.ahead.length < SWEEP_FILES && this.bytes < this.maxBytes; scanned++) {
      const next = this.walk.next();
      if (next.done) break;
      const n = this.reader.sweepBytes(next.value);
      if (n === null) continue;
      if (n > 0) this.reader.rowsBehind(next.value, 0, n, rows);
      this.ahead.push({ ino: next.value, bytes: n });
      this.bytes += n;
    }
    this.reader.prefetchRows(rows);
  }
}

/** One sequential reader of a file: where it has read to, and what is fetched ahead of it. */
interface Stream {
  /** Furthest byte asked for so far. */
  high: number;
  /** Furthest byte already prefetched. */
  ahead: number;
  window: number;
}

/** Sequential readers of one file followed at once (two `cat`s, `cp` beside `sha256sum`). */
const STREAMS = 4;

export class OpenFile {
  /** Most recently used last; a reader starting at the beginning continues the first. */
  private readonly streams: Stream[] = [{ high: 0, ahead: 0, window: 0 }];

  constructor(
    private readonly reader: ContentReader,
    readonly ino: number,
    private readonly maxWindow: number,
  ) {}

  /**
   * Reads like ContentReader.read, and fetches ahead of a reader that goes on sequentially.
   * Reads are matched to the stream they continue, so concurrent readers of the file (whose
   * reads reach us interleaved) each keep their read-ahead.
   */
  read(offset: number, length: number, into: Buffer): number | Promise<number> {
    // The demand read asks the cache first, so its chunks are queued before the read-ahead.
    const result = this.reader.read(this.ino, offset, length, into);
    const end = offset + length;
    const i = this.streams.findIndex((s) => Math.abs(offset - s.high) <= SEQUENTIAL_SLACK);
    if (i < 0) {
      // A seek or a new reader: no read-ahead until it shows a pattern.
      if (this.streams.length === STREAMS) this.streams.shift();
      this.streams.push({ high: end, ahead: end, window: 0 });
      return result;
    }
    const s = this.streams.splice(i, 1)[0]!;
    this.streams.push(s);
    s.window = Math.min(this.maxWindow, Math.max(MIN_WINDOW, s.window * 2));
    s.high = Math.max(s.high, end);
    const from = Math.max(s.ahead, s.high);
    const to = s.high + s.window;
    if (to > from) {
      this.reader.prefetch(this.ino, from, to - from);
      s.ahead = to;
    }
    return result;
  }
}
