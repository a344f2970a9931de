/**
 * The main thread's side of ingest's chunk workers: feeds body bytes to them in batches,
 * deduplicates the chunks they name against the store's catalogue and this ingest's own
 * chunks, asks for the new ones to be sealed, and hands those, in order, to the packer.
 * A body keeps to one worker; whole small bodies are spread over the workers.
 * Bytes in flight are bounded, which bounds ingest's memory whatever the input size.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { IngestCatalogue } from '../catalogue/catalogue';
import { NONCE_SIZE, SEAL_OVERHEAD } from '../crypto/aead';
import type { ChunkSlot, Packer } from './packer';
import type { IngestTarget } from './target';
import { movable } from './worker-protocol';
import type { ChunksMessage, ExportMessage, FromWorker, Piece, SealedMessage, ToWorker, WorkerInit } from './worker-protocol';

export interface StoredBody {
  storedSize: number;
  sha256: Buffer;
  slots: ChunkSlot[];
}

export interface BodyStats {
  chunks: number;
  newChunks: number;
  newBytes: number;
}

/** One body being stored; `stored` is set when its worker has cut and hashed all of it. */
export interface BodyHandle {
  readonly id: number;
  readonly worker: number;
  slots: ChunkSlot[];
  stored: StoredBody | null;
  waiters: ((b: StoredBody) => void)[];
}

interface Lane {
  worker: Worker;
  /** Bytes sent to this worker and not yet sealed: what balances the lanes. */
  outstanding: number;
  pieces: Piece[];
  /** The batch being filled; its first `bytes` bytes are taken. */
  buf: Buffer | null;
  bytes: number;
  /** Kept chunks of each batch, waiting for its sealed message. */
  awaiting: Map<number, ChunkSlot[]>;
}

const BATCH_BYTES = 1024 * 1024;
/**
 * Batch buffers are this large: room for one more input piece (1 MiB) past BATCH_BYTES, so
 * that a piece is rarely split, which would send a whole small body down the streaming path.
 */
const BATCH_BUFFER = 2 * BATCH_BYTES + 64 * 1024;
const SPARE_BUFFERS = 8;
const BATCH_PIECES = 512;

export class ChunkPipeline {
  private readonly lanes: Lane[] = [];
  private readonly bodies = new Map<number, BodyHandle>();
  private readonly own = new Map<string, ChunkSlot>();
  private nextBody = 0;
  private nextBatch = 0;
  /** Batch bytes sent and not yet through the packer. */
  private inFlight = 0;
  private readonly roomWaiters: (() => void)[] = [];
  private readonly batchBytes = new Map<number, number>();
  /** Batches whose new chunks another worker seals, and which. */
  private readonly exported = new Map<number, Lane>();
  /** Exported batches being sealed, and the worker whose buffer carries their chunks (it gets it back). */
  private readonly exporters = new Map<number, Lane>();
  private readonly spare: ArrayBuffer[] = [];
  /** Batches sent, in order, and the sealed results that arrived ahead of their turn. */
  private readonly order: { batch: number; lane: Lane }[] = [];
  private readonly sealed = new Map<number, SealedMessage>();
  private current = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  readonly stats: BodyStats = { chunks: 0, newChunks: 0, newBytes: 0 };

  /** What goes before each sealed chunk: nothing, or for a writer key its agreement (chunk-codec.ts). */
  private readonly prefix: Buffer[];

  constructor(
    target: IngestTarget,
    private readonly catalogue: IngestCatalogue,
    private readonly packer: Packer,
    level: number,
    threads = availableParallelism(),
    private readonly maxInFlight = 8 * 1024 * 1024,
  ) {
    const sealing = target.chunkSealing;
    this.prefix = sealing.prefix ? [sealing.prefix] : [];
    const init: WorkerInit = { sealKey: sealing.key, sealedToStore: sealing.prefix !== null, idKey: target.chunkIdKey, gear: target.gear, chunker: target.config.chunker, level };
    for (let i = 0; i < Math.max(1, threads); i++) {
      const worker = new Worker(join(__dirname, 'chunk-worker.js'), { workerData: init });
      const lane: Lane = { worker, outstanding: 0, pieces: [], buf: null, bytes: 0, awaiting: new Map() };
      worker.on('message', (m: FromWorker) => {
        try {
          if (m.t === 'chunks') this.onChunks(lane, m);
          else if (m.t === 'export') this.onExport(lane, m);
          else this.onSealed(lane, m);
        } catch (e) {
          this.fail(e);
        }
      });
      worker.on('error', (e) => this.fail(e));
      this.lanes.push(lane);
    }
  }

  /** Forget chunks once their brick is durable: the catalogue answers for them from then on. */
  brickStored(chunkIds: readonly Buffer[]): void {
    for (const id of chunkIds) this.own.delete(id.toString('hex'));
  }

  /**
   * Stores a whole body (of `size` bytes, when known); resolves once it is handed to a
   * worker, not once it is stored: see result().
   */
  async store(body: AsyncIterable<Buffer>, size?: number): Promise<BodyHandle> {
    this.throwIfFailed();
    // A lane is chosen afresh only once its batch has gone: batches then leave in archive
    // order, and the packer, taking them in that order, fills bricks file after file.
    const lane = this.lanes[this.current]!.pieces.length > 0 ? this.current : this.leastBusy();
    this.current = lane;
    const h: BodyHandle = { id: this.nextBody++, worker: lane, slots: [], stored: null, waiters: [] };
    this.bodies.set(h.id, h);
    let sent = 0;
    for await (const piece of body) {
      sent += piece.length;
      await this.add(lane, h.id, piece, sent === size);
    }
    if (sent !== size || size === 0) await this.add(lane, h.id, Buffer.alloc(0), true);
    return h;
  }

  /** Resolves with the body once its worker has cut and hashed all of it. */
  result(h: BodyHandle): Promise<StoredBody> {
    if (h.stored) return Promise.resolve(h.stored);
    return new Promise((resolve) => h.waiters.push(resolve));
  }

  /** The lane with the least work queued (sent and batched): bodies go where a core is free soonest. */
  private leastBusy(): number {
    const load = (l: Lane): number => l.outstanding + l.bytes;
    let best = 0;
    for (let i = 1; i < this.lanes.length; i++) if (load(this.lanes[i]!) < load(this.lanes[best]!)) best = i;
    return best;
  }

  private async add(laneNo: number, body: number, data: Buffer, last: boolean): Promise<void> {
    const lane = this.lanes[laneNo]!;
    // Copied at once: the input reader reuses its buffers, and a batch is one transferable buffer.
    let at = 0;
    do {
      const buf = (lane.buf ??= this.batchBuffer());
      const n = Math.min(data.length - at, buf.length - lane.bytes);
      data.copy(buf, lane.bytes, at, at + n);
      at += n;
      // A body that arrived in several input pieces (a pipe gives 64 KiB at a time) is one
      // piece of its batch: its worker then cuts it in place instead of streaming it
      // through a chunker window, a 4 MiB buffer and one more copy.
      const prev = lane.pieces[lane.pieces.length - 1];
      if (prev?.body === body && prev.off + prev.len === lane.bytes) prev.len += n;
      else lane.pieces.push({ body, off: lane.bytes, len: n, last: false });
      lane.pieces[lane.pieces.length - 1]!.last = last && at === data.length;
      lane.bytes += n;
      if (lane.bytes >= BATCH_BYTES || lane.pieces.length >= BATCH_PIECES) await this.send(lane);
    } while (at < data.length);
  }

  private async send(lane: Lane): Promise<void> {
    if (lane.pieces.length === 0) return;
    const bytes = lane.bytes;
    while (this.inFlight > 0 && this.inFlight + bytes > this.maxInFlight && !this.failure) await new Promise<void>((r) => this.roomWaiters.push(r));
    this.throwIfFailed();
    const buf = lane.buf!.subarray(0, bytes);
    const msg: ToWorker = { t: 'data', batch: this.nextBatch++, buf, pieces: lane.pieces };
    lane.pieces = [];
    lane.buf = null;
    lane.bytes = 0;
    this.inFlight += bytes;
    lane.outstanding += bytes;
    this.order.push({ batch: msg.batch, lane });
    lane.awaiting.set(msg.batch, []);
    this.batchBytes.set(msg.batch, bytes);
    lane.worker.postMessage(msg, [buf.buffer as ArrayBuffer]);
  }

  /**
   * A buffer for a batch, one the workers gave back when possible: fresh 1 MiB buffers
   * cost page faults and zeroing, which showed up as most of the main thread's copying time.
   */
  private batchBuffer(): Buffer {
    return Buffer.from(this.spare.pop() ?? new ArrayBuffer(BATCH_BUFFER));
  }

  /** Keeps a buffer a worker gave back, if it can hold a batch. */
  private keepSpare(ab: ArrayBuffer): void {
    if (ab.byteLength >= BATCH_BUFFER && this.spare.length < SPARE_BUFFERS) this.spare.push(ab);
  }

  private onChunks(lane: Lane, m: ChunksMessage): void {
    const keep: number[] = [];
    const kept: ChunkSlot[] = [];
    const ids = Buffer.from(m.ids.buffer, m.ids.byteOffset, m.ids.byteLength);
    for (let i = 0; i < m.lengths.length; i++) {
      const body = this.bodies.get(m.bodies[i]!)!;
      const id = Buffer.from(ids.subarray(i * 32, i * 32 + 32));
      const length = m.lengths[i]!;
      this.stats.chunks++;
      body.slots.push(this.slotFor(id, length, () => {
        keep.push(i);
        return kept;
      }));
    }
    lane.awaiting.set(m.batch, kept);
    const sealer = keep.length > 0 ? this.sealerFor(lane, m.batch) : lane;
    const msg: ToWorker = { t: 'seal', batch: m.batch, keep, export: sealer !== lane };
    lane.worker.postMessage(msg);
    const shas = Buffer.from(m.sha256s.buffer, m.sha256s.byteOffset, m.sha256s.byteLength);
    m.ended.forEach((b, k) => {
      const h = this.bodies.get(b)!;
      this.bodies.delete(b);
      h.stored = { storedSize: m.sizes[k]!, sha256: Buffer.from(shas.subarray(k * 32, k * 32 + 32)), slots: h.slots };
      for (const w of h.waiters.splice(0)) w(h.stored);
    });
  }

  /**
   * Which worker seals a batch's new chunks: the one that cut them, unless another has so
   * much less work queued that moving the batch there evens them out (a large file is cut
   * by one worker, and sealing is most of the work).
   */
  private sealerFor(cutter: Lane, batch: number): Lane {
    const bytes = this.batchBytes.get(batch) ?? 0;
    let best = cutter;
    for (const l of this.lanes) if (l.outstanding < best.outstanding) best = l;
    if (best === cutter || best.outstanding + bytes > cutter.outstanding - bytes) return cutter;
    cutter.outstanding -= bytes;
    best.outstanding += bytes;
    this.exported.set(batch, best);
    return best;
  }

  private onExport(from: Lane, m: ExportMessage): void {
    const to = this.exported.get(m.batch)!;
    this.exported.delete(m.batch);
    this.exporters.set(m.batch, from);
    this.keepSpare(m.returned);
    const msg: ToWorker = { t: 'sealPlains', batch: m.batch, plains: m.plains, lengths: m.lengths, ids: m.ids };
    // The chunks fill only part of their buffer, which moves whole (a view would be copied).
    to.worker.postMessage(msg, [m.plains.buffer as ArrayBuffer, ...movable([m.ids])]);
  }

  /** A buffer a worker gave back: the exporter's own goes back to it, a batch's is kept for the next batch. */
  private giveBack(batch: number, returned: ArrayBuffer): void {
    const exporter = this.exporters.get(batch);
    if (!exporter) return this.keepSpare(returned);
    this.exporters.delete(batch);
    exporter.worker.postMessage({ t: 'output', buf: returned } satisfies ToWorker, [returned]);
  }

  /** The slot of a chunk: stored before, seen earlier in this ingest, or new (then `keepNew` records it for sealing). */
  private slotFor(id: Buffer, length: number, keepNew: () => ChunkSlot[]): ChunkSlot {
    const stored = this.catalogue.place(id);
    if (stored) return { id, plainLength: length, place: stored };
    const hex = id.toString('hex');
    const known = this.own.get(hex);
    if (known) return known;
    const slot: ChunkSlot = { id, plainLength: length, place: null };
    this.own.set(hex, slot);
    this.stats.newChunks++;
    this.stats.newBytes += length;
    keepNew().push(slot);
    return slot;
  }

  private onSealed(lane: Lane, m: SealedMessage): void {
    lane.outstanding -= this.batchBytes.get(m.batch) ?? 0;
    this.giveBack(m.batch, m.returned);
    this.sealed.set(m.batch, m);
    // Hand batches to the packer in the order they were sent, whichever worker sealed them.
    while (this.order.length > 0 && this.sealed.has(this.order[0]!.batch)) {
      const { batch, lane: from } = this.order.shift()!;
      const msg = this.sealed.get(batch)!;
      this.sealed.delete(batch);
      const slots = from.awaiting.get(batch)!;
      from.awaiting.delete(batch);
      const bytes = this.batchBytes.get(batch)!;
      this.batchBytes.delete(batch);
      this.chain = this.chain
        .then(async () => {
          if (this.failure) return;
          for (let i = 0; i < slots.length; i++) {
            const head = msg.heads.subarray(i * SEAL_OVERHEAD, (i + 1) * SEAL_OVERHEAD);
            await this.packer.add(slots[i]!, [...this.prefix, head.subarray(0, NONCE_SIZE), msg.bodies[i]!, head.subarray(NONCE_SIZE)]);
          }
        })
        .catch((e: unknown) => this.fail(e))
        .finally(() => {
          this.inFlight -= bytes;
          for (const w of this.roomWaiters.splice(0)) w();
        });
    }
  }

  /** Sends what is batched and waits until every chunk cut so far is in the packer. */
  async drain(): Promise<void> {
    for (const lane of this.lanes) await this.send(lane);
    while (!this.failure && this.order.length > 0) await new Promise<void>((r) => this.roomWaiters.push(r));
    await this.chain;
    this.throwIfFailed();
  }

  private fail(e: unknown): void {
    this.failure ??= e;
    for (const w of this.roomWaiters.splice(0)) w();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.worker.terminate()));
  }
}
