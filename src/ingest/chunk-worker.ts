/**
 * Worker thread body of ingest (see worker-protocol.ts): hashes and cuts bodies, names
 * chunks, and seals the ones the main thread asks for. A body that arrives whole in one
 * piece is cut in place; a longer one streams through a Chunker kept for it.
 */
import { createHash, Hash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { chunkId, ChunkSealer } from '../brick/chunk-codec';
import { NONCE_SIZE, SEAL_OVERHEAD } from '../crypto/aead';
import { Chunker, WindowPool } from '../chunk/chunker';
import { movable } from './worker-protocol';
import type { ChunksMessage, DataMessage, ExportMessage, FromWorker, SealedMessage, SealMessage, SealPlainsMessage, ToWorker, WorkerInit } from './worker-protocol';

const init = workerData as WorkerInit;
const sealKey = Buffer.from(init.sealKey);
const idKey = Buffer.from(init.idKey);
const sealer = new ChunkSealer(init.level);
const oneShot = new Chunker(init.gear, init.chunker);

/** Streaming chunkers' windows: retired ones wait for their batch's seal, then are reused. */
const SPARE_WINDOWS = 2;
const spareWindows: Buffer[] = [];
let retired: Buffer[] = [];
const windows: WindowPool = {
  take: (size) => spareWindows.pop() ?? Buffer.allocUnsafeSlow(size),
  retire: (w) => void retired.push(w),
};

interface Streaming {
  hash: Hash;
  chunker: Chunker;
  size: number;
}

const streaming = new Map<number, Streaming>();
/** Plaintext and ids of each batch's chunks, until its seal message. */
const pending = new Map<number, { plains: Buffer[]; ids: Buffer[]; buf: ArrayBuffer; windows: Buffer[] }>();

/**
 * Buffers that a batch's exported chunks are written into, back to back. The main thread
 * gives each back (an `output` message) once the other worker has sealed them: reused, they
 * are not garbage that the collectors of three threads free late, by when the allocator
 * has grown by tens of MiB.
 */
const SPARE_OUTPUTS = 2;
const OUTPUT_BYTES = 2304 * 1024;
const outputs: ArrayBuffer[] = [];

/** The chunks back to back, in an output buffer. */
function gather(chunks: Buffer[]): Buffer {
  let total = 0;
  for (const c of chunks) total += c.length;
  const i = outputs.findIndex((b) => b.byteLength >= total);
  const out = Buffer.from(i >= 0 ? outputs.splice(i, 1)[0]! : new ArrayBuffer(Math.max(total, OUTPUT_BYTES)));
  let at = 0;
  for (const c of chunks) at += c.copy(out, at);
  return out.subarray(0, total);
}

/**
 * Seals chunks. Each ciphertext goes to the main thread as the cipher made it: the packer
 * copies it into its brick at once, so it dies young there and the main thread's frequent
 * minor collections free it. Kept here, it would wait for this thread's rare major ones.
 */
function sealAll(ids: Uint8Array[], plains: Uint8Array[]): { heads: Uint8Array; bodies: Uint8Array[] } {
  const heads = Buffer.allocUnsafe(plains.length * SEAL_OVERHEAD);
  const bodies = plains.map((p, k) => {
    const [nonce, body, tag] = sealer.sealParts(sealKey, ids[k]!, p, init.sealedToStore);
    nonce.copy(heads, k * SEAL_OVERHEAD);
    tag.copy(heads, k * SEAL_OVERHEAD + NONCE_SIZE);
    return body;
  });
  return { heads, bodies };
}

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
        s = { hash: createHash('sha256'), chunker: new Chunker(init.gear, init.chunker, windows), size: 0 };
        streaming.set(p.body, s);
      }
      s.hash.update(data);
      s.size += p.len;
      cut = s.chunker.push(data);
      if (p.last) {
        for (const chunk of s.chunker.finish()) cut.push(chunk);
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
  pending.set(m.batch, { plains, ids, buf: m.buf.buffer as ArrayBuffer, windows: retired });
  retired = [];
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
  // Either way this is the last use of the batch's bytes: the buffer goes back to be
  // refilled, and the windows its chunks view are free to reuse.
  let reply: SealedMessage | ExportMessage;
  if (m.export) {
    const kept = m.keep.map((i) => p.plains[i]!);
    reply = { t: 'export', batch: m.batch, plains: gather(kept), lengths: kept.map((b) => b.length), ids: Buffer.concat(m.keep.map((i) => p.ids[i]!)), returned: p.buf };
  } else {
    reply = { t: 'sealed', batch: m.batch, ...sealAll(m.keep.map((i) => p.ids[i]!), m.keep.map((i) => p.plains[i]!)), returned: p.buf };
  }
  for (const w of p.windows) if (spareWindows.length < SPARE_WINDOWS) spareWindows.push(w);
  return reply;
}

function onSealPlains(m: SealPlainsMessage): SealedMessage {
  const ids: Uint8Array[] = [];
  const plains: Uint8Array[] = [];
  let at = 0;
  m.lengths.forEach((n, i) => {
    ids.push(m.ids.subarray(i * 32, i * 32 + 32));
    plains.push(m.plains.subarray(at, at + n));
    at += n;
  });
  return { t: 'sealed', batch: m.batch, ...sealAll(ids, plains), returned: m.plains.buffer as ArrayBuffer };
}

function transferList(reply: FromWorker): ArrayBuffer[] {
  if (reply.t === 'chunks') return movable([reply.ids, reply.sha256s]);
  // Exported chunks fill only part of their buffer, which moves whole (a view would be copied).
  if (reply.t === 'export') return [reply.plains.buffer as ArrayBuffer, ...movable([reply.ids]), reply.returned];
  return [...movable([reply.heads, ...reply.bodies]), reply.returned];
}

const port = parentPort;
port?.on('message', (m: ToWorker) => {
  if (m.t === 'output') {
    if (outputs.length < SPARE_OUTPUTS) outputs.push(m.buf);
    return;
  }
  const reply = m.t === 'data' ? onData(m) : m.t === 'seal' ? onSeal(m) : onSealPlains(m);
  port.postMessage(reply, transferList(reply));
});
