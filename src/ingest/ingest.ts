/**
 * Ingest: a tar stream in, bricks and catalogue segments into the store, an index tar out.
 * This layer owns the whole order of durability (docs/ARCHITECTURE.md): bricks, then their
 * catalogue segments, then the stored index copy, then the local index is published. A
 * crash at any point leaves nothing under a final name that references something missing.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { FileHandle } from 'node:fs/promises';
import { UsageError } from '../errors';
import { encodeIndexCopy, newIndexCopyKey } from '../index/copy';
import { encodeMeta, encodeTrailer, IndexMeta, INDEX_VERSION } from '../index/meta';
import { indexBytesFor } from '../index/entry-bytes';
import { readTar } from '../tar/reader';
import type { StorageClass } from '../store/backend';
import { ChunkPipeline, BodyHandle } from './chunk-pipeline';
import { IndexSink } from './index-sink';
import { Packer } from './packer';
import type { IngestTarget } from './target';

const NO_BRICK = Buffer.alloc(32);

export interface IngestOptions {
  name: string;
  /** The store location recorded in the index for later commands. */
  storeLocation: string;
  /** zstd level (0 stores raw). */
  level: number;
  storageClass?: StorageClass;
  /** Bricks uploading at once; by default 4 to S3, 1 to a local directory (see writeIndex). */
  maxUploads?: number;
  threads?: number;
  onProgress?: (p: IngestProgress) => void;
}

/** Where the index goes: written through `handle`, read back from `path` for its stored copy, then published. */
export interface IndexOutput {
  handle: FileHandle;
  path: string;
  /** Work on the complete index that may overlap the upload of its copy (compressing it); publish() waits for it. */
  complete?(): Promise<void>;
  /** Puts the complete index in its place: the last step, once its copy is stored. */
  publish(): Promise<void>;
}

export interface IngestProgress {
  bytesIn: number;
  entries: number;
  storedBytes: number;
}

export interface IngestResult {
  entries: number;
  tarSize: number;
  chunks: number;
  newChunks: number;
  newBytes: number;
  bricks: number;
  storedBytes: number;
  indexSize: number;
  /** The index's tag (docs/FORMAT.md §7), which its stored copy records. */
  tag: string;
}

/**
 * Counts input bytes, and lets the event loop turn between input pieces: parsing a piece
 * full of small entries runs as one long string of microtasks, during which the workers'
 * messages (ids to deduplicate, sealed chunks) would wait and the workers idle.
 */
async function* counting(source: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const b of source) {
    onBytes(b.length);
    yield b;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Stores a tar stream and its index: the bricks and catalogue segments, the index written to
 * `output`, its sealed copy in the store, and last the index published. An empty input is
 * refused before anything names it.
 */
export async function ingestTar(target: IngestTarget, source: AsyncIterable<Uint8Array>, output: IndexOutput, opts: IngestOptions): Promise<IngestResult> {
  const result = await writeIndex(target, source, output.handle, opts);
  // GNU tar refuses an empty input too; in `ssh host tar c / | dtar ingest` it means the
  // producer failed, and a backup of nothing must not pass for a success.
  if (result.tarSize === 0) throw new UsageError('the input is empty: no tar stream came in, and nothing was backed up');
  const created = new Date();
  const meta = { name: opts.name, created: created.toISOString(), indexSize: result.indexSize, entries: result.entries, tarSize: result.tarSize, tag: result.tag };
  // Begun now, awaited by publish(): a failure here is publish's to report.
  output.complete?.().catch(() => undefined);
  await target.lock.check();
  // A function body, so that a retried upload reads the index again from the start.
  const copyKey = newIndexCopyKey(created);
  await target.backend.put(copyKey, () => encodeIndexCopy(target.copySealing, meta, createReadStream(output.path)));
  try {
    await target.lock.check(target.lock.writer ? copyKey : undefined);
  } catch (e) {
    // A prune may have started without seeing this copy: it must not name bricks it deleted
    // (a writer key cannot delete it: the error names it instead).
    if (!target.lock.writer) await target.backend.delete(copyKey);
    throw e;
  }
  await output.publish();
  await target.lock.release();
  return result;
}

/** Bricks and catalogue segments into the store, the index into `indexFile`. */
async function writeIndex(target: IngestTarget, source: AsyncIterable<Uint8Array>, indexFile: FileHandle, opts: IngestOptions): Promise<IngestResult> {
  const catalogue = target.catalogue;
  const threads = opts.threads ?? availableParallelism();
  const progress: IngestProgress = { bytesIn: 0, entries: 0, storedBytes: 0 };
  const packer = new Packer(target.backend, catalogue, target.brickSealing, {
    brickSize: target.config.brickSize,
    storageClass: opts.storageClass,
    // Locally one brick is written while the next fills: a second write in flight was no
    // faster, and each brick in flight holds a brick's buffer.
    maxUploads: opts.maxUploads ?? (opts.storeLocation.startsWith('s3://') ? 4 : 1),
    onBrickStored: (brick) => {
      progress.storedBytes += brick.size;
      // Called only once bricks are stored, long after `store` below exists.
      store.brickStored(brick.chunks.map((c) => c.id));
    },
  });
  const store = new ChunkPipeline(target, catalogue, packer, opts.level, threads);
  const sink = new IndexSink(indexFile);
  const meta: IndexMeta = { version: INDEX_VERSION, storeId: target.config.id, store: opts.storeLocation, name: opts.name, created: new Date().toISOString(), tag: randomBytes(8).toString('hex'), sealer: target.sealer };
  sink.push(encodeMeta(meta));
  let entries = 0;
  let tail: BodyHandle | null = null;
  let lastReport = 0;
  const report = (): void => {
    const now = Date.now();
    if (opts.onProgress && now - lastReport > 200) {
      lastReport = now;
      opts.onProgress({ ...progress });
    }
  };
  try {
    for await (const item of readTar(counting(source, (n) => ((progress.bytesIn += n), report())))) {
      if (item.kind === 'global') sink.push(item.raw);
      else if (item.kind === 'entry') {
        entries++;
        progress.entries = entries;
        if (item.bodySize === 0) {
          sink.push(item.raw);
        } else {
          const body = await store.store(item.body, item.bodySize);
          const entry = item;
          const padding = item.padding();
          sink.push({
            body,
            render: (stored) => {
              const blank = stored.slots.map((sl) => ({ id: sl.id, plainLength: sl.plainLength, brick: NO_BRICK, offset: 0, storedLength: 0 }));
              return indexBytesFor(entry, { storedSize: stored.storedSize, sha256: stored.sha256, chunks: blank }, padding);
            },
          });
        }
      } else {
        tail = await store.store(item.tail);
      }
      await sink.flushReady();
    }
    await store.drain();
    await packer.flush();
    const tailBody = await store.result(tail!);
    const tailRefs = tailBody.slots.map((sl) => {
      if (!sl.place) throw new Error('archive tail chunks were never placed');
      return { id: sl.id, plainLength: sl.plainLength, ...sl.place };
    });
    sink.push(encodeTrailer(meta.tag, { tail: { storedSize: tailBody.storedSize, sha256: tailBody.sha256, chunks: tailRefs }, entries, tarSize: progress.bytesIn, indexSha256: await sink.digest() }, target.indexMacKey));
    sink.push(Buffer.alloc(1024));
    await sink.finish();
  } finally {
    await store.drain().catch(() => undefined);
    await store.close();
    await packer.settle();
  }
  opts.onProgress?.({ ...progress });
  return {
    entries,
    tarSize: progress.bytesIn,
    chunks: store.stats.chunks,
    newChunks: store.stats.newChunks,
    newBytes: store.stats.newBytes,
    bricks: packer.bricks,
    storedBytes: packer.storedBytes,
    indexSize: sink.bytes,
    tag: meta.tag,
  };
}
