/**
 * Worker thread body of ingest (see worker-protocol.ts): hashes and cuts bodies, names
 * chunks, and seals the ones the main thread asks for. A body that arrives whole in one
 * piece is cut in place; a longer one streams through a Chunker kept for it.
 */
import { createHash, Hash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { chunkId, ChunkSealer } from '../brick/chunk-codec';
import { Chunker } from '../chunk/chunker';
import { movable } from './worker-protocol';
import type { ChunksMessage, DataMessage, ExportMessage, FromWorker, SealedMessage, SealMessage, SealPlainsMessage, ToWorker, WorkerInit } from './worker-protocol';

const init = workerData as WorkerInit;
const dataKey = Buffer.from(init.dataKey);
const idKey = Buffer.from(init.idKey);
const sealer = new ChunkSealer(init.level);
const oneShot = new Chunker(init.gear, init.chunker);

interface Streaming {
  hash: Hash;
  chunker: Chunker;
  size: number;
}

const streaming = new Map<number, Streaming>();
/** Plaintext and ids of each batch's chunks, until its seal message. */
const pending = new Map<number, { plains: Buffer[]; ids: Buffer[]; buf: ArrayBuffer }>();

function onData(m: DataMessage): ChunksMessage {
  const buf = Buffer.from(m.buf.buffer, m.buf.byteOffset, m.buf.byteLength);
  const plains: Buffer[] = [];
  const bodies: number[] = [];
  const ended: number[] = [];
  const sizes: number[] = [];
  const shas: Buffer[] = [];
  for (const p of m.pieces) {
    const data = buf.subarray(p.off, p.off + p.len);
    let s = streaming.get(p.body);
    let cut: Buffer[];
    if (!s && p.last) {
      cut = oneShot.cutAll(data);
      ended.push(p.body);
      sizes.push(p.len);
      shas.push(createHash('sha256').update(data).digest());
    } else {
      if (!s) {
        s = { hash: createHash('sha256'), chunker: new Chunker(init.gear, init.chunker), size: 0 };
        streaming.set(p.body, s);
      }
      s.hash.update(data);
      s.size += p.len;
      cut = s.chunker.push(data);
      if (p.last) {
        cut.push(...s.chunker.finish());
        streaming.delete(p.body);
        ended.push(p.body);
        sizes.push(s.size);
        shas.push(s.hash.digest());
      }
    }
    for (const c of cut) {
      plains.push(c);
      bodies.push(p.body);
    }
  }
  const ids = plains.map((c) => chunkId(idKey, c));
  pending.set(m.batch, { plains, ids, buf: m.buf.buffer as ArrayBuffer });
  return {
    t: 'chunks',
    batch: m.batch,
    bodies,
    lengths: plains.map((c) => c.length),
    ids: Buffer.concat(ids),
    ended,
    sizes,
    sha256s: Buffer.concat(shas),
  };
}

function onSeal(m: SealMessage): SealedMessage | ExportMessage {
  const p = pending.get(m.batch);
  pending.delete(m.batch);
  if (!p) throw new Error(`seal for unknown batch ${m.batch}`);
  // Either way this is the last use of the batch's bytes: the buffer goes back to be refilled.
  if (m.export) {
    const kept = m.keep.map((i) => p.plains[i]!);
    return { t: 'export', batch: m.batch, plains: Buffer.concat(kept), lengths: kept.map((b) => b.length), ids: Buffer.concat(m.keep.map((i) => p.ids[i]!)), returned: p.buf };
  }
  return { t: 'sealed', batch: m.batch, sealed: m.keep.map((i) => sealer.seal(dataKey, p.ids[i]!, p.plains[i]!)), returned: p.buf };
}

function onSealPlains(m: SealPlainsMessage): SealedMessage {
  const plains = Buffer.from(m.plains.buffer, m.plains.byteOffset, m.plains.byteLength);
  const sealed: Buffer[] = [];
  let at = 0;
  m.lengths.forEach((n, i) => {
    sealed.push(sealer.seal(dataKey, m.ids.subarray(i * 32, i * 32 + 32), plains.subarray(at, at + n)));
    at += n;
  });
  return { t: 'sealed', batch: m.batch, sealed, returned: m.plains.buffer as ArrayBuffer };
}

function transferList(reply: FromWorker): ArrayBuffer[] {
  if (reply.t === 'chunks') return movable([reply.ids, reply.sha256s]);
  if (reply.t === 'export') return [...movable([reply.plains, reply.ids]), reply.returned];
  return [...movable(reply.sealed), reply.returned];
}

const port = parentPort;
port?.on('message', (m: ToWorker) => {
  const reply = m.t === 'data' ? onData(m) : m.t === 'seal' ? onSeal(m) : onSealPlains(m);
  port.postMessage(reply, transferList(reply));
});
