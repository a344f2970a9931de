/**
 * Worker thread body: compresses and seals chunks, the CPU-heavy part of ingest, so that
 * it runs on every core while the main thread reads, parses and cuts the tar. Chunks come
 * in batches (one message for many small files), back to back in one buffer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { newChunkSealer, sealChunk } from '../brick/chunk-codec';

export interface SealWorkerData {
  dataKey: Uint8Array;
  level: number;
}

export interface SealRequest {
  seq: number;
  /** n x 32-byte chunk ids. */
  ids: Uint8Array;
  /** The chunks' plaintexts, back to back. */
  plain: Uint8Array;
  lengths: number[];
}

export interface SealResponse {
  seq: number;
  /** The sealed chunks, back to back, and their lengths. */
  sealed: Uint8Array;
  lengths: number[];
}

const data = workerData as SealWorkerData;
const key = Buffer.from(data.dataKey);
const sealer = newChunkSealer(data.level);
const port = parentPort;
if (port) {
  port.on('message', (req: SealRequest) => {
    const out: Buffer[] = [];
    let o = 0;
    for (let i = 0; i < req.lengths.length; i++) {
      const n = req.lengths[i]!;
      out.push(sealChunk(sealer, key, req.ids.subarray(i * 32, i * 32 + 32), req.plain.subarray(o, o + n)));
      o += n;
    }
    const sealed = out.length === 1 ? out[0]! : Buffer.concat(out);
    const res: SealResponse = { seq: req.seq, sealed, lengths: out.map((b) => b.length) };
    // Only a buffer that owns its whole ArrayBuffer can be moved rather than copied.
    const own = sealed.byteOffset === 0 && sealed.byteLength === sealed.buffer.byteLength;
    port.postMessage(res, own ? [sealed.buffer as ArrayBuffer] : []);
  });
}
