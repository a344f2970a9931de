/**
 * How the read path turns wanted chunks into store reads, the same for every reader: chunks
 * of one brick are coalesced into few ranged reads, and brick stretches used densely enough
 * are read whole. What differs is the store (readShape), not the reader.
 */
import type { Backend } from '../store/backend';

/**
 * A gap up to this many bytes between wanted chunks is read through rather than split into
 * two requests. On a local disk one more read costs about what reading through 256 KiB does
 * (bench/README.md, "Figures behind code comments"); an S3 GET costs far more than its bytes.
 */
export const MAX_GAP = 256 * 1024;

/** Sealed bytes sent to a worker at once, at most (one chunk more): jobs this size keep both cores busy. */
export const JOB_BYTES = 512 * 1024;

/** Where a store's requests cost little or much, how reads are shaped for it. */
export interface ReadShape {
  /** A read grows past this by no more than one chunk; a read is also one worker's job. */
  maxRead: number;
  /** For a reader that asks for a file's chunks as the file is read (the mount): only stretches whose chunks average at most this are read whole. */
  stretchChunk: number;
  /** The same for a reader that asks for a whole window's chunks at once (restore, extract, cat). */
  windowStretchChunk: number;
}

/**
 * Where ranged reads are cheap (Backend.cheapRanges), a read, and so one worker's job, stops
 * at 512 KiB: one job for a whole read-ahead window kept one worker busy while the other
 * idled, and its reader waited for the whole window before its first chunk. There, a reader
 * that asks file by file reads whole only stretches of small chunks: they lie in random order
 * in a brick, so a walk's next small files are not neighbours and would each be a read, while
 * larger chunks are read as cheaply in runs, without waiting for a whole stretch. A reader
 * that asks for a window's chunks at once reads none whole there: a window holds many of a
 * brick's small chunks, which coalesce into few reads, and a stretch held in memory until its
 * last chunk is read cost restore a third of its memory (bench/README.md). Where each request
 * costs, reads grow freely and every dense stretch is read whole, one GET per brick.
 */
export function readShape(backend: Pick<Backend, 'cheapRanges'>): ReadShape {
  return backend.cheapRanges ? { maxRead: JOB_BYTES, stretchChunk: 128 * 1024, windowStretchChunk: 0 } : { maxRead: Infinity, stretchChunk: Infinity, windowStretchChunk: Infinity };
}

/** One ranged read [start, end) of a brick, and which of the chunks asked for it covers. */
export interface CoalescedRead {
  start: number;
  end: number;
  /** Indices into the list given, by offset. */
  chunks: number[];
}

/**
 * Groups chunks of one brick into as few ranged reads as their layout allows: a gap of up to
 * `maxGap` bytes before the next chunk is read through. A read grows past `maxLength` bytes
 * by no more than one chunk.
 */
export function coalesce(chunks: readonly { offset: number; length: number }[], maxGap: number, maxLength = Infinity): CoalescedRead[] {
  const order = chunks.map((_, i) => i).sort((a, b) => chunks[a]!.offset - chunks[b]!.offset);
  const reads: CoalescedRead[] = [];
  for (const i of order) {
    const { offset, length } = chunks[i]!;
    const last = reads[reads.length - 1];
    if (last && offset <= last.end + maxGap && last.end - last.start < maxLength) {
      last.end = Math.max(last.end, offset + length);
      last.chunks.push(i);
    } else {
      reads.push({ start: offset, end: offset + length, chunks: [i] });
    }
  }
  return reads;
}

/** The stretch of a brick that covers every chunk noted, and how many of its bytes they use. */
export interface Stretch {
  start: number;
  end: number;
  used: number;
  /** Offsets of the chunks noted. */
  offsets: Set<number>;
}

/** A stretch is read whole only when its chunks use at least this share of it. */
const MIN_DENSITY = 0.5;

/**
 * Which brick stretches are worth reading in one request and keeping for later reads: where
 * the chunks a reader will want use most of a stretch, reading it whole is one request to the
 * store (one GET in S3) instead of one per file.
 */
export class StretchPlan<K> {
  private readonly noted = new Map<K, Stretch>();

  /** Notes a chunk a reader will want; a chunk noted again (shared by files) counts once. */
  add(brick: K, offset: number, length: number): void {
    let s = this.noted.get(brick);
    if (!s) this.noted.set(brick, (s = { start: offset, end: offset + length, used: 0, offsets: new Set() }));
    if (s.offsets.has(offset)) return;
    s.offsets.add(offset);
    s.used += length;
    s.start = Math.min(s.start, offset);
    s.end = Math.max(s.end, offset + length);
  }

  /**
   * Ends the plan: the stretches dense enough and at most `maxBytes` long, whose chunks
   * average at most `maxChunk` bytes (larger ones are read as cheaply in runs).
   */
  dense(maxBytes: number, maxChunk = Infinity): Map<K, Stretch> {
    const out = new Map<K, Stretch>();
    for (const [brick, s] of this.noted) {
      if (s.used >= MIN_DENSITY * (s.end - s.start) && s.end - s.start <= maxBytes && s.used <= maxChunk * s.offsets.size) out.set(brick, s);
    }
    this.noted.clear();
    return out;
  }
}
