/**
 * Rebuilds the original tar from an index and the store, streaming: headers and padding
 * come from the index, bodies from the bricks (read ahead, in order), and every body is
 * checked against its SHA-256 before the next item is written. Stops at the first damage
 * with an error naming the file and the brick. The index is read once whole before anything
 * is written, so that damage in it (caught by its trailer's checksum) writes nothing.
 */
import { createHash, Hash } from 'node:crypto';
import { OpenPool } from '../brick/open-pool';
import { ChunkReader } from '../brick/reader';
import { SPAN_BYTES, spanChunkLimit } from '../brick/reads';
import { CorruptDataError, escapeDecoded, escapeName, WrongStoreError } from '../errors';
import { IndexItem, readIndex } from '../index/reader';
import type { BodyRef } from '../index/record';
import type { Repository } from '../repo/repository';
import { BrickSpans } from './brick-spans';
import { Semaphore } from '../store/limit';
import { DEFAULT_READ_AHEAD, fetchRuns, Fetched, ReadAheadOptions, RecentChunks } from './chunk-stream';

const OUTPUT_BATCH = 1024 * 1024;

type Op = { kind: 'bytes'; data: Buffer } | { kind: 'chunk'; fetched: Fetched } | { kind: 'begin' } | { kind: 'check'; sha256: Buffer; size: number; path: string };

export interface RestoreProgress {
  bytesOut: number;
  totalBytes: number | null;
}

export interface RestoreOptions {
  /** What errors call the index (its file name). */
  indexName?: string;
  readAhead?: ReadAheadOptions;
  onProgress?: (p: RestoreProgress) => void;
}

export async function restoreTar(
  repo: Repository,
  /** Opens the index; it is read twice (checked whole first, then restored from). */
  index: () => AsyncIterable<Uint8Array>,
  /** Takes consecutive pieces of the output (gathered, so that writes are large and few). */
  write: (pieces: Buffer[]) => Promise<void>,
  opts: RestoreOptions = {},
): Promise<{ bytes: number }> {
  const ahead = opts.readAhead ?? DEFAULT_READ_AHEAD;
  const pool = new OpenPool(repo.keys);
  const spans = new BrickSpans(SPAN_BYTES, spanChunkLimit(repo.backend));
  const reader = new ChunkReader(repo.backend, repo.keys, pool, spans);
  const gate = new Semaphore(ahead.parallel);
  const recent = new RecentChunks();
  const window: Op[] = [];
  let aheadBytes = 0;
  let hash: Hash | null = null;
  let hashed = 0;
  const progress: RestoreProgress = { bytesOut: 0, totalBytes: null };

  // Many small pieces (headers, small files, padding) are gathered into large writes.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    const pieces = pending;
    const bytes = pendingBytes;
    pending = [];
    pendingBytes = 0;
    await write(pieces);
    progress.bytesOut += bytes;
    opts.onProgress?.(progress);
  };
  const out = async (data: Buffer): Promise<void> => {
    if (data.length === 0) return;
    pending.push(data);
    pendingBytes += data.length;
    if (pendingBytes >= OUTPUT_BATCH) await flush();
  };

  const step = async (): Promise<void> => {
    const op = window.shift()!;
    switch (op.kind) {
      case 'bytes':
        return out(op.data);
      case 'begin':
        hash = createHash('sha256');
        hashed = 0;
        return;
      case 'chunk': {
        const data = await op.fetched.data;
        aheadBytes -= op.fetched.size;
        hash!.update(data);
        hashed += data.length;
        return out(data);
      }
      case 'check':
        if (hashed !== op.size || !hash!.digest().equals(op.sha256)) {
          throw new CorruptDataError(`${op.path}: restored contents do not match the checksum recorded at ingest`);
        }
    }
  };

  const push = async (op: Op): Promise<void> => {
    window.push(op);
    if (op.kind === 'chunk') aheadBytes += op.fetched.size;
    while (aheadBytes > ahead.aheadBytes || window.length > 4096) await step();
  };

  const pushBody = async (body: BodyRef, path: string): Promise<void> => {
    await push({ kind: 'begin' });
    for (const fetched of fetchRuns(reader, gate, body.chunks, path, 16, recent)) await push({ kind: 'chunk', fetched });
    await push({ kind: 'check', sha256: body.sha256, size: body.storedSize, path });
  };

  try {
    for await (const item of readIndex(index(), opts.indexName)) {
      if (item.kind === 'entry' && item.record) spans.add(item.record.body);
      else if (item.kind === 'trailer') spans.add(item.trailer.tail);
    }
    spans.finish();
    for await (const item of readIndex(index(), opts.indexName) as AsyncIterable<IndexItem>) {
      switch (item.kind) {
        case 'meta':
          if (item.meta.storeId !== repo.id) {
            throw new WrongStoreError(`this index belongs to store ${item.meta.storeId.slice(0, 8)} (${escapeName(item.meta.store)}), not to the store opened (${repo.id.slice(0, 8)})`);
          }
          break;
        case 'global':
          await push({ kind: 'bytes', data: item.raw });
          break;
        case 'entry':
          await push({ kind: 'bytes', data: item.original() });
          if (item.record) {
            await pushBody(item.record.body, escapeDecoded(item.header.path, item.header.pathBytes));
            await push({ kind: 'bytes', data: item.padding });
          }
          break;
        case 'trailer':
          progress.totalBytes = item.trailer.tarSize;
          await pushBody(item.trailer.tail, '(end of archive)');
          break;
      }
    }
    while (window.length > 0) await step();
    await flush();
    return { bytes: progress.bytesOut };
  } finally {
    await pool.close();
  }
}
