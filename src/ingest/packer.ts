/**
 * Packs sealed chunks into bricks and makes them durable, in order of invariants:
 * a brick is uploaded (bounded number in flight), then the catalogue segment naming its
 * chunks is written; only then do its chunks count as stored for later ingests. Chunks
 * learn their brick and offset when their brick is built, which is what lets the index
 * entries waiting on them be written.
 */
import { BrickBuilder, BuiltBrick } from '../brick/builder';
import { brickKey, BrickSealing } from '../brick/format';
import type { IngestCatalogue } from '../catalogue/catalogue';
import { BrickRecord, encodeBrickRecord } from '../catalogue/segment';
import type { StorageClass, Backend } from '../store/backend';

/** A chunk known to this ingest; `place` is set once its brick is built (or it was found stored). */
export interface ChunkSlot {
  id: Buffer;
  plainLength: number;
  place: { brick: Buffer; offset: number; storedLength: number } | null;
}

const MERGE_EVERY = 64;
/** A brick's buffer beyond its target size: room for the chunk that crosses the target (4 MiB and a little, sealed, with the default chunker). */
const BRICK_SLACK = 5 * 1024 * 1024;

export interface PackerOptions {
  brickSize: number;
  storageClass?: StorageClass;
  maxUploads: number;
  onBrickStored?: (brick: BuiltBrick) => void;
}

export class Packer {
  private readonly builder: BrickBuilder;
  private slots: ChunkSlot[] = [];
  private readonly uploads = new Set<Promise<void>>();
  private failure: unknown = null;
  /** Per-brick catalogue segments not yet merged into one, and their bricks' encoded records. */
  private unmerged: { key: string; encoded: Buffer }[] = [];
  /** Without merge (a writer key): stored bricks whose segment is still to write. */
  private unlisted: Buffer[] = [];
  storedBytes = 0;
  bricks = 0;

  constructor(
    private readonly backend: Backend,
    private readonly catalogue: IngestCatalogue,
    private readonly sealing: BrickSealing,
    private readonly options: PackerOptions,
  ) {
    this.builder = new BrickBuilder(options.brickSize + BRICK_SLACK, options.maxUploads);
  }

  /**
   * Adds a sealed chunk, given in pieces (copied: the caller may reuse them at once); builds
   * and starts uploading a brick when the target size is reached.
   */
  async add(slot: ChunkSlot, sealed: readonly Uint8Array[]): Promise<void> {
    this.throwIfFailed();
    this.builder.add({ id: slot.id, sealed, plainLength: slot.plainLength });
    this.slots.push(slot);
    if (this.builder.byteSize >= this.options.brickSize) await this.seal();
  }

  /** Builds the partly filled brick, if any, and waits for every upload. */
  async flush(): Promise<void> {
    if (this.builder.count > 0) await this.seal();
    await this.settle();
    this.throwIfFailed();
    await this.merge();
  }

  /**
   * Waits until no upload is in flight (each stored, its segment written, or failed). An ingest
   * that fails still waits for this before it ends: its store lock is released next, and no
   * write of it may land after that, when a prune may already be deciding what is live.
   */
  async settle(): Promise<void> {
    while (this.uploads.size > 0) await Promise.race(this.uploads);
  }

  /** True while some chunk is waiting in the unbuilt brick. */
  get hasOpenBrick(): boolean {
    return this.builder.count > 0;
  }

  private async seal(): Promise<void> {
    while (this.uploads.size >= this.options.maxUploads) await Promise.race(this.uploads);
    this.throwIfFailed();
    const brick = this.builder.build(this.sealing);
    const byId = new Map<string, ChunkSlot>();
    for (const s of this.slots) byId.set(s.id.toString('hex'), s);
    this.slots = [];
    for (const c of brick.chunks) {
      const s = byId.get(c.id.toString('hex'));
      if (s) s.place = { brick: brick.id, offset: c.offset, storedLength: c.storedLength };
    }
    const p = this.upload(brick).then(
      () => {
        this.uploads.delete(p);
        this.builder.reuse(brick.memory);
      },
      (e: unknown) => {
        this.uploads.delete(p);
        this.failure ??= e;
      },
    );
    this.uploads.add(p);
  }

  private async upload(brick: BuiltBrick): Promise<void> {
    // A function body: a retried upload starts again from the first piece.
    const body = async function* (): AsyncGenerator<Buffer> {
      yield* brick.parts;
    };
    await this.backend.put(brickKey(brick.idHex), body, { storageClass: this.options.storageClass, size: brick.size, sha256: brick.id });
    const record: BrickRecord = { id: brick.id, size: brick.size, treeHash: brick.treeHash, chunks: brick.chunks };
    const encoded = encodeBrickRecord(record);
    if (this.catalogue.merge) {
      // One segment per brick: a crash loses no stored brick from the catalogue.
      const key = await this.catalogue.writeSegment([encoded]);
      this.catalogue.addBricks([record]);
      this.unmerged.push({ key, encoded });
    } else {
      // Unmerged segments would stay for good: one per MERGE_EVERY bricks. A crash leaves
      // the bricks since the last one out of the catalogue (no index names them; repair lists them).
      this.catalogue.addBricks([record]);
      this.unlisted.push(encoded);
    }
    this.storedBytes += brick.size;
    this.bricks++;
    this.options.onBrickStored?.(brick);
    if (this.unmerged.length >= MERGE_EVERY || this.unlisted.length >= MERGE_EVERY) await this.merge();
  }

  /**
   * Folds the per-brick segments written so far into one, so that loading the catalogue stays
   * a few requests; without merge, writes the segment of the bricks stored since the last.
   */
  private async merge(): Promise<void> {
    const batch = this.unmerged;
    this.unmerged = [];
    await this.catalogue.merge?.(
      batch.map((b) => b.key),
      batch.map((b) => b.encoded),
    );
    const unlisted = this.unlisted;
    this.unlisted = [];
    if (unlisted.length > 0) await this.catalogue.writeSegment(unlisted);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}
