/**
 * Worker thread body: compresses and seals chunks, the CPU-heavy part of ingest, so that
 * it runs on every core while the main thread reads, parses and cuts the tar.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { newChunkSealer, sealChunk } from '../brick/chunk-codec';

export interface SealWorkerData {
  dataKey: Uint8Array;
  level: number;
}

export interface SealRequest {
  seq: number;
  id: Uint8Array;
  plain: Uint8Array;
}

export interface SealResponse {
  seq: number;
  sealed: Uint8Array;
}

const data = workerData as SealWorkerData;
const key = Buffer.from(data.dataKey);
const sealer = newChunkSealer(data.level);
const port = parentPort;
if (port) {
  port.on('message', (req: SealRequest) => {
    const sealed = sealChunk(sealer, key, req.id, req.plain);
    const res: SealResponse = { seq: req.seq, sealed };
    port.postMessage(res, [sealed.buffer as ArrayBuffer]);
  });
}
