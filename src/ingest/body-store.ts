/**
 * Stores one body (a file's bytes, or the archive's tail): cuts it into chunks, names each
 * by its MAC, and deduplicates against the store's catalogue and this ingest's own chunks
 * before handing new ones to the seal pool and then, in submission order, to the packer.
 * Submission order is file order, so a file's chunks land together in few bricks.
 */
import { createHash } from 'node:crypto';
import { chunkId } from '../brick/chunk-codec';
import { Chunker } from '../chunk/chunker';
import type { Catalogue } from '../catalogue/catalogue';
import type { ChunkSlot, Packer } from './packer';
import type { SealPool } from './seal-pool';

export interface BodyStats {
  chunks: number;
  newChunks: number;
  newBytes: number;
}

export interface StoredBody {
  storedSize: number;
  sha256: Buffer;
  slots: ChunkSlot[];
}

/** A batch goes to a worker once it holds this much, or this many chunks. */
const BATCH_BYTES = 1024 * 1024;
const BATCH_COUNT = 256;

export class BodyStore {
  /** Chunks of this ingest not yet in the catalogue (their brick is not durable yet). */
  private readonly own = new Map<string, ChunkSlot>();
  private batch: { slot: ChunkSlot; plain: Buffer }[] = [];
  private batchBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  /** Plaintext bytes handed out but not yet in the packer. */
  private unpacked = 0;
  private readonly unpackedWaiters: (() => void)[] = [];
  private failure: unknown = null;
  readonly stats: BodyStats = { chunks: 0, newChunks: 0, newBytes: 0 };

  constructor(
    private readonly chunker: Chunker,
    private readonly idKey: Buffer,
    private readonly catalogue: Catalogue,
    private readonly pool: SealPool,
    private readonly packer: Packer,
    private readonly maxUnpackedBytes: number,
  ) {}

  /** Forget chunks once their brick is durable: the catalogue answers for them from then on. */
  brickStored(chunkIds: readonly Buffer[]): void {
    for (const id of chunkIds) this.own.delete(id.toString('hex'));
  }

  async store(body: AsyncIterable<Uint8Array>): Promise<StoredBody> {
    const hash = createHash('sha256');
    const slots: ChunkSlot[] = [];
    let size = 0;
    for await (const piece of body) {
      hash.update(piece);
      size += piece.length;
      for (const c of this.chunker.push(piece)) slots.push(await this.chunk(c));
    }
    for (const c of this.chunker.finish()) slots.push(await this.chunk(c));
    return { storedSize: size, sha256: hash.digest(), slots };
  }

  private async chunk(plain: Buffer): Promise<ChunkSlot> {
    if (this.failure) throw this.failure;
    this.stats.chunks++;
    const id = chunkId(this.idKey, plain);
    const stored = this.catalogue.lookup(id);
    if (stored) return { id, plainLength: plain.length, place: { brick: stored.brickInfo.id, offset: stored.offset, storedLength: stored.storedLength } };
    const hex = id.toString('hex');
    const known = this.own.get(hex);
    if (known) return known;
    const slot: ChunkSlot = { id, plainLength: plain.length, place: null };
    this.own.set(hex, slot);
    this.stats.newChunks++;
    this.stats.newBytes += plain.length;
    this.batch.push({ slot, plain });
    this.batchBytes += plain.length;
    if (this.batchBytes >= BATCH_BYTES || this.batch.length >= BATCH_COUNT) await this.sendBatch();
    return slot;
  }

  private async sendBatch(): Promise<void> {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    const bytes = this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    while (this.unpacked > 0 && this.unpacked + bytes > this.maxUnpackedBytes) await new Promise<void>((r) => this.unpackedWaiters.push(r));
    this.unpacked += bytes;
    const { sealed } = await this.pool.submit(batch.map((b) => ({ id: b.slot.id, plain: b.plain })));
    sealed.catch(() => undefined); // observed in the chain below; keeps an early failure from being "unhandled"
    this.chain = this.chain
      .then(async () => {
        if (this.failure) return;
        const out = await sealed;
        for (let i = 0; i < batch.length; i++) await this.packer.add(batch[i]!.slot, out[i]!);
      })
      .catch((e: unknown) => {
        this.failure ??= e;
      })
      .finally(() => {
        this.unpacked -= bytes;
        for (const w of this.unpackedWaiters.splice(0)) w();
      });
  }

  /** Sends what is batched and waits until every chunk handed out so far is in the packer. */
  async drain(): Promise<void> {
    await this.sendBatch();
    await this.chain;
    if (this.failure) throw this.failure;
  }
}
