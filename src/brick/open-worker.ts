/**
 * Worker thread body for reading: authenticates, decompresses and id-checks chunks, so
 * that restore and mount use every core for it. Replies with the plaintexts, or with the
 * first chunk that failed and why.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DtarError, UnsupportedFormatError } from '../errors';
import { openChunk } from './chunk-codec';

export interface OpenWorkerData {
  dataKey: Uint8Array;
  idKey: Uint8Array;
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

/** On success `bytes` comes back too (moved) when the request says so, for its sender to reuse. */
export type OpenReply =
  | { seq: number; ok: true; plains: Uint8Array[]; bytes: Uint8Array | null }
  | { seq: number; ok: false; message: string; newer?: { what: string; version: string } };

const init = workerData as OpenWorkerData;
const dataKey = Buffer.from(init.dataKey);
const idKey = Buffer.from(init.idKey);

function view(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

parentPort?.on('message', (r: OpenRequest) => {
  const bytes = view(r.bytes);
  const ids = view(r.ids);
  let reply: OpenReply;
  const moved = new Set<ArrayBuffer>();
  try {
    const plains = r.offsets.map((o, i) => {
      const into = r.outputs[i];
      const plain = openChunk(dataKey, idKey, ids.subarray(i * 32, i * 32 + 32), r.plainLengths[i]!, bytes.subarray(o, o + r.lengths[i]!), r.where, into ? view(into) : undefined);
      // Plaintexts that own their memory are moved, not copied (nor concatenated: that copy
      // and its fresh pages were a third of restore's time); views of shared memory are copied.
      if (into || (plain.byteOffset === 0 && plain.byteLength === plain.buffer.byteLength)) moved.add(plain.buffer as ArrayBuffer);
      return plain;
    });
    if (r.recycle) moved.add(r.bytes.buffer as ArrayBuffer);
    reply = { seq: r.seq, ok: true, plains, bytes: r.recycle ? r.bytes : null };
  } catch (e) {
    moved.clear();
    const newer = e instanceof UnsupportedFormatError ? { what: e.what, version: String(e.version) } : undefined;
    reply = { seq: r.seq, ok: false, message: e instanceof DtarError ? e.message : String(e), newer };
  }
  parentPort!.postMessage(reply, [...moved]);
});
