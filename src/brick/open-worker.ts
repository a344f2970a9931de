/**
 * Worker thread body for reading: authenticates, decompresses and id-checks chunks, so
 * that restore and mount use every core for it. Replies with the plaintexts back to back,
 * or with the first chunk that failed and why.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DtarError } from '../errors';
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
  where: string;
}

export type OpenReply = { seq: number; ok: true; plains: Uint8Array[] } | { seq: number; ok: false; message: string };

const init = workerData as OpenWorkerData;
const dataKey = Buffer.from(init.dataKey);
const idKey = Buffer.from(init.idKey);

parentPort?.on('message', (r: OpenRequest) => {
  const bytes = Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
  const ids = Buffer.from(r.ids.buffer, r.ids.byteOffset, r.ids.byteLength);
  let reply: OpenReply;
  try {
    const plains = r.offsets.map((o, i) => openChunk(dataKey, idKey, ids.subarray(i * 32, i * 32 + 32), r.plainLengths[i]!, bytes.subarray(o, o + r.lengths[i]!), r.where));
    reply = { seq: r.seq, ok: true, plains };
  } catch (e) {
    reply = { seq: r.seq, ok: false, message: e instanceof DtarError ? e.message : String(e) };
  }
  // Plaintexts that own their memory are moved, not copied (nor concatenated: that copy and
  // its fresh pages were a third of restore's time); views of shared memory are copied.
  const moved = new Set<ArrayBuffer>();
  if (reply.ok) for (const p of reply.plains) if (p.byteOffset === 0 && p.byteLength === p.buffer.byteLength) moved.add(p.buffer as ArrayBuffer);
  parentPort!.postMessage(reply, [...moved]);
});
