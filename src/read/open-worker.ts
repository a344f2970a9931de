/**
 * Worker thread body for reading: authenticates, decompresses and (for chunks a writer sealed) id-checks chunks, so
 * that every reader uses every core for it. Replies with each chunk's plaintext or why it
 * failed: a damaged chunk fails alone, not the other files' chunks that shared its job.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ChunkKeys, openChunk } from '../brick/chunk-codec';
import { DtarError, UnsupportedFormatError } from '../errors';

export interface OpenWorkerData {
  dataKey: Uint8Array;
  idKey: Uint8Array;
  /** The store's X25519 private key, for chunks a writer key sealed. */
  storePrivate: Uint8Array;
}

export interface OpenRequest {
  seq: number;
  /** The sealed chunks, each [offset, length) in `bytes`. */
  bytes: Uint8Array;
  offsets: number[];
  lengths: number[];
  ids: Uint8Array;
  plainLengths: number[];
  /** Per chunk, a buffer (moved here) to write its plaintext into, or null to allocate one. */
  outputs: (Uint8Array | null)[];
  /** Whether `bytes` was moved here and goes back with the reply (small ones are copied). */
  recycle: boolean;
  where: string;
}

/** A chunk of a newer format than this dtar reads: refused as UnsupportedFormatError, not as damage. */
export interface NewerFormat {
  what: string;
  version: string;
}

/**
 * Per chunk, its plaintext, the message of the CorruptDataError it failed with, or the newer
 * format it is in; `bytes` comes back too (moved) when the request says so, for its sender to reuse.
 */
export interface OpenReply {
  seq: number;
  plains: (Uint8Array | string | NewerFormat)[];
  bytes: Uint8Array | null;
}

const init = workerData as OpenWorkerData;
const keys: ChunkKeys = { data: Buffer.from(init.dataKey), chunkId: Buffer.from(init.idKey), x25519: Buffer.from(init.storePrivate) };

/**
 * Each chunk opened leaves its decrypted payload behind as garbage, and a worker, which
 * allocates little else, collects rarely: left alone, each worker held tens of megabytes of
 * dead payloads. So after every COLLECT_BYTES of sealed input it runs a minor collection
 * (a fraction of a millisecond); `gc` is there when Node runs with --expose-gc, as bin/dtar.js starts it.
 */
const COLLECT_BYTES = 8 * 1024 * 1024;
let sinceCollect = 0;

function view(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

parentPort?.on('message', (r: OpenRequest) => {
  sinceCollect += r.bytes.byteLength;
  const bytes = view(r.bytes);
  const ids = view(r.ids);
  const moved = new Set<ArrayBuffer>();
  const plains = r.offsets.map((o, i): Uint8Array | string | NewerFormat => {
    const into = r.outputs[i];
    try {
      const plain = openChunk(keys, ids.subarray(i * 32, i * 32 + 32), r.plainLengths[i]!, bytes.subarray(o, o + r.lengths[i]!), r.where, 'writer-sealed', into ? view(into) : undefined);
      // Plaintexts that own their memory are moved, not copied (nor concatenated: that copy
      // and its fresh pages were a third of restore's time); views of shared memory are copied.
      if (into || (plain.byteOffset === 0 && plain.byteLength === plain.buffer.byteLength)) moved.add(plain.buffer as ArrayBuffer);
      return plain;
    } catch (e) {
      if (e instanceof UnsupportedFormatError) return { what: e.what, version: String(e.version) };
      return e instanceof DtarError ? e.message : String(e);
    }
  });
  if (r.recycle) moved.add(r.bytes.buffer as ArrayBuffer);
  const reply: OpenReply = { seq: r.seq, plains, bytes: r.recycle ? r.bytes : null };
  parentPort!.postMessage(reply, [...moved]);
  if (sinceCollect >= COLLECT_BYTES && globalThis.gc) {
    sinceCollect = 0;
    globalThis.gc({ type: 'minor' });
  }
});
