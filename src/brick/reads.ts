/**
 * The parts of reading chunks out of bricks that every reader shares (restore's ChunkReader,
 * the archive's ChunkFetcher, verify's BrickCopy): store reads whose errors name the brick,
 * wanted chunks coalesced into few ranged reads, the plan of brick stretches used densely
 * enough to read whole, and opening sealed chunks on a worker pool or on this thread.
 */
import type { StoreKeys } from '../crypto/keys';
import { CorruptDataError, NotFoundError } from '../errors';
import type { Backend, ByteRange, WholeObject } from '../store/backend';
import { openChunk } from './chunk-codec';
import { BrickChunk, brickKey } from './format';
import type { BufferPool } from './buffer-pool';
import type { OpenPool, SealedPiece } from './open-pool';

/**
 * Brick `hex` from the store, whole or the range asked for (which must come back complete),
 * possibly read into `into` (see Backend.get). Errors name the brick; callers add the file.
 */
export async function readBrick(backend: Pick<Backend, 'get'>, hex: string, want: ByteRange | WholeObject, into?: Buffer): Promise<Buffer> {
  const key = brickKey(hex);
  let bytes: Buffer;
  try {
    bytes = await backend.get(key, want, into);
  } catch (e) {
    if (e instanceof NotFoundError) throw new NotFoundError(key, `brick ${hex} is missing from the store`);
    throw e;
  }
  if ('offset' in want && bytes.length !== want.length) throw new CorruptDataError(`brick ${hex} is truncated`);
  return bytes;
}

/** Bytes read from brick `hex`, starting at `start`. */
export interface BrickBytes {
  start: number;
  bytes: Buffer;
}

/** The stored bytes of the chunk at `offset`, cut out of bytes read from its brick. */
export function pieceOf(read: BrickBytes, hex: string, offset: number, length: number): Buffer {
  const piece = read.bytes.subarray(offset - read.start, offset - read.start + length);
  if (piece.length !== length) throw new CorruptDataError(`brick ${hex} is truncated`);
  return piece;
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
 * `maxGap` bytes before the next chunk is read through, as a request costs more than the gap.
 * A read grows past `maxLength` bytes by no more than one chunk.
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

/**
 * How long coalesce() may let a read of a brick grow. Where ranged reads are cheap
 * (Backend.cheapRanges), a read, and so one worker's job, stops at 512 KiB: one job for a
 * whole read-ahead window kept one worker busy while the other idled, and its reader waited
 * for the whole window before its first chunk. Where each request costs, reads grow freely.
 */
export function readLimit(backend: Pick<Backend, 'cheapRanges'>): number {
  return backend.cheapRanges ? 512 * 1024 : Infinity;
}

/**
 * Reads [start, end) of brick `hex` and opens the chunks lying in it, in the order given.
 * With workers, the read goes into memory they gave back and moves to one of them as it is:
 * no copy, and no fresh pages. `seen` gets each chunk's sealed bytes before they move.
 */
export async function readAndOpen(
  backend: Pick<Backend, 'get'>,
  keys: StoreKeys,
  pool: OpenPool | undefined,
  hex: string,
  range: { start: number; end: number },
  chunks: readonly BrickChunk[],
  outputs?: BufferPool,
  seen?: (chunk: BrickChunk, sealed: Buffer) => void,
): Promise<Buffer[]> {
  const into = pool?.buffer(range.end - range.start);
  let bytes: Buffer;
  try {
    bytes = await readBrick(backend, hex, { offset: range.start, length: range.end - range.start }, into);
  } catch (e) {
    if (into) pool!.unused(into);
    throw e;
  }
  const read = { start: range.start, bytes };
  const pieces = chunks.map((c) => {
    const sealed = pieceOf(read, hex, c.offset, c.storedLength);
    seen?.(c, sealed);
    return { id: c.id, plainLength: c.plainLength, sealed };
  });
  if (!pool || !into || bytes.buffer !== into.buffer) {
    if (into) pool!.unused(into);
    return openSealed(keys, pool, pieces, `brick ${hex}`, outputs);
  }
  const places = chunks.map((c) => ({ id: c.id, plainLength: c.plainLength, offset: c.offset - range.start, length: c.storedLength }));
  return pool.openBytes(bytes, places, `brick ${hex}`, outputs);
}

/**
 * Where ranged reads are cheap, only stretches of small chunks are read whole: they lie in
 * random order in a brick, so a walk's next small files are not neighbours and would each
 * be a read; larger chunks are read as cheaply in runs, without waiting for a whole stretch.
 */
export function spanChunkLimit(backend: Pick<Backend, 'cheapRanges'>): number {
  return backend.cheapRanges ? 128 * 1024 : Infinity;
}

/** Memory a reader gives to brick stretches read whole and kept for later reads. */
export const SPAN_BYTES = 128 * 1024 * 1024;

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

/**
 * Opens sealed chunks (authenticated, decompressed, checked against their ids), on the pool's
 * workers when there is one, else on this thread; plaintexts come back in the order given.
 * A worker gets one compact copy of the pieces: what they were cut from (a stretch kept for
 * later reads, a read with gaps, the sealed cache's buffers) stays here, whole. With
 * `outputs`, plaintexts of pooled size are written into its buffers (the caller gives them back).
 */
export async function openSealed(keys: StoreKeys, pool: OpenPool | undefined, pieces: readonly SealedPiece[], where: string, outputs?: BufferPool): Promise<Buffer[]> {
  if (!pool) return pieces.map((p) => openChunk(keys.data, keys.chunkId, p.id, p.plainLength, p.sealed, where));
  return pool.open(pieces, where, outputs);
}
