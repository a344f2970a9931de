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

export type OpenReply = { seq: number; ok: true; plain: Uint8Array; lengths: number[] } | { seq: number; ok: false; message: string };

const init = workerData as OpenWorkerData;
const dataKey = Buffer.from(init.dataKey);
const idKey = Buffer.from(init.idKey);

parentPort?.on('message', (r: OpenRequest) => {
  const bytes = Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
  const ids = Buffer.from(r.ids.buffer, r.ids.byteOffset, r.ids.byteLength);
  let reply: OpenReply;
  try {
    const out = r.offsets.map((o, i) => openChunk(dataKey, idKey, ids.subarray(i * 32, i * 32 + 32), r.plainLengths[i]!, bytes.subarray(o, o + r.lengths[i]!), r.where));
    const plain = out.length === 1 ? out[0]! : Buffer.concat(out);
    reply = { seq: r.seq, ok: true, plain, lengths: out.map((b) => b.length) };
  } catch (e) {
    reply = { seq: r.seq, ok: false, message: e instanceof DtarError ? e.message : String(e) };
  }
  const own = reply.ok && reply.plain.byteOffset === 0 && reply.plain.byteLength === reply.plain.buffer.byteLength;
  parentPort!.postMessage(reply, own && reply.ok ? [reply.plain.buffer as ArrayBuffer] : []);
});
