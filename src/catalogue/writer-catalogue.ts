/**
 * The catalogue as a writer key sees it (docs/FORMAT.md §6, §9): the lookups of the segments,
 * which tell where a chunk lies only to whoever has its id, that is whoever has the chunk.
 * Ingest with a writer key deduplicates against it. The writer's own bricks are added as
 * they are stored, and its segments are sealed to the store's public key. It has no merge:
 * its store credentials cannot delete (the packer writes its segments whole instead).
 */
import type { Backend } from '../store/backend';
import { NotFoundError } from '../errors';
import { IngestCatalogue, fetchSegment, listSegments, writeSegment } from './catalogue';
import { ChunkTable } from './chunk-table';
import { BrickRecord, ChunkPlace, dedupTag, lookupEntry, openPlace, SegmentLookup, segmentLookup } from './segment';

export class WriterCatalogue implements IngestCatalogue {
  /** Tag -> entry: `brick` is the index of its segment's lookup in `lookups`, `offset` the entry's index in it. */
  private readonly tags = new ChunkTable();
  private readonly lookups: SegmentLookup[] = [];
  /** This ingest's own chunks, by id: `brick` indexes `ownBricks`. */
  private readonly own = new ChunkTable();
  private readonly ownBricks: Buffer[] = [];

  private constructor(
    private readonly backend: Backend,
    private readonly storePublicKey: Buffer,
  ) {}

  /** The lookups of every segment in the store; segments of version 1 have none (export-writer rewrites them). */
  static async load(backend: Backend, storePublicKey: Buffer, cacheDir: string | null): Promise<WriterCatalogue> {
    const c = new WriterCatalogue(backend, storePublicKey);
    for (const { key, size } of await listSegments(backend, new Set())) {
      let bytes: Buffer;
      try {
        bytes = await fetchSegment(backend, cacheDir, key, size);
      } catch (e) {
        if (e instanceof NotFoundError) continue; // merged away since listed
        throw e;
      }
      const lookup = segmentLookup(bytes, key);
      if (!lookup) continue;
      const n = c.lookups.push(lookup) - 1;
      for (let i = 0; i < lookup.count; i++) c.tags.add(lookupEntry(lookup, i).tag, { brick: n, offset: i, storedLength: 0, plainLength: 0 });
    }
    return c;
  }

  place(id: Uint8Array): ChunkPlace | undefined {
    const mine = this.own.get(id);
    if (mine) return { brick: this.ownBricks[mine.brick]!, offset: mine.offset, storedLength: mine.storedLength };
    const tag = dedupTag(id);
    const at = this.tags.get(tag);
    if (!at) return undefined;
    const lookup = this.lookups[at.brick]!;
    // An entry that does not open under this id (altered, or planted under a copied tag) is no place.
    return openPlace(id, tag, lookupEntry(lookup, at.offset).sealed, lookup.bricks) ?? undefined;
  }

  addBricks(records: readonly BrickRecord[]): void {
    for (const r of records) {
      const b = this.ownBricks.push(r.id) - 1;
      for (const c of r.chunks) this.own.add(c.id, { brick: b, offset: c.offset, storedLength: c.storedLength, plainLength: c.plainLength });
    }
  }

  writeSegment(bricks: readonly Buffer[]): Promise<string> {
    return writeSegment(this.backend, { storePublicKey: this.storePublicKey }, bricks);
  }
}
