/**
 * The store's chunk catalogue: which brick holds each chunk, so that ingest can
 * deduplicate against everything ever stored without reading a brick (bricks may be in
 * cold storage). It is the union of all `catalogue/*` segments; segments are immutable,
 * so a local cache of them (still sealed) makes loading incremental.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoreKeys } from '../crypto/keys';
import type { Backend, ObjectInfo } from '../store/backend';
import { NotFoundError } from '../errors';
import { writeCacheFile } from '../fs/cache-file';
import { ChunkTable } from './chunk-table';
import { BrickRecord, ChunkPlace, decodeSegment, encodeBrickRecord, isSegmentV1, sealSegment, SegmentSealing } from './segment';

export const CATALOGUE_PREFIX = 'catalogue/';

/** What ingest deduplicates against and records its bricks in: the catalogue, or a writer key's view of it (WriterCatalogue). */
export interface IngestCatalogue {
  /** Where chunk `id` is stored, if it is. */
  place(id: Uint8Array): ChunkPlace | undefined;
  /** Registers bricks just written (their segment may come later). */
  addBricks(records: readonly BrickRecord[]): void;
  /** Writes a segment for bricks already durable (each encoded by encodeBrickRecord); returns its key. */
  writeSegment(bricks: readonly Buffer[]): Promise<string>;
  /**
   * Replaces segments by one holding the same bricks (the merged one is written first).
   * Absent for a writer key, whose store credentials cannot delete.
   */
  merge?(keys: readonly string[], bricks: readonly Buffer[]): Promise<void>;
}

/** A segment, `size` bytes as listed, from the local cache of sealed segments (`cacheDir`, or none) or the store. */
export async function fetchSegment(backend: Backend, cacheDir: string | null, key: string, size: number): Promise<Buffer> {
  if (!cacheDir) return backend.get(key, { maxLength: size });
  const file = join(cacheDir, key.replace(/\//g, '_'));
  try {
    return await readFile(file);
  } catch {
    const data = await backend.get(key, { maxLength: size });
    await writeCacheFile(file, data);
    return data;
  }
}

/** The segments not in `loaded`, in key order (roughly the order they were written). */
export async function listSegments(backend: Backend, loaded: ReadonlySet<string> = new Set()): Promise<ObjectInfo[]> {
  const found: ObjectInfo[] = [];
  for await (const o of backend.list(CATALOGUE_PREFIX)) {
    if (!loaded.has(o.key)) found.push(o);
  }
  return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export interface BrickInfo {
  id: Buffer;
  idHex: string;
  size: number;
  treeHash: Buffer;
}

export class Catalogue implements IngestCatalogue {
  readonly chunks = new ChunkTable();
  readonly bricks: BrickInfo[] = [];
  private readonly brickNumber = new Map<string, number>();
  private readonly loaded = new Set<string>();
  /** Loaded segments of version 1, which have no lookup for writer keys, and their sizes. */
  private readonly withoutLookup = new Map<string, number>();

  constructor(
    private readonly backend: Backend,
    private readonly keys: Pick<StoreKeys, 'data' | 'x25519'>,
    /** Directory for cached sealed segments, or null for none. */
    private readonly cacheDir: string | null,
  ) {}

  /** Loads the segments not loaded yet. */
  async refresh(): Promise<void> {
    for (const { key, size } of await listSegments(this.backend, this.loaded)) {
      let sealed: Buffer;
      try {
        sealed = await fetchSegment(this.backend, this.cacheDir, key, size);
      } catch (e) {
        // A segment merged away between list and get: its bricks are in the merged one.
        if (e instanceof NotFoundError) continue;
        throw e;
      }
      const records = decodeSegment(this.keys, sealed, key);
      if (isSegmentV1(sealed, key)) this.withoutLookup.set(key, size);
      this.addBricks(records);
      this.loaded.add(key);
    }
  }

  /**
   * Rewrites the loaded segments of version 1 as one of version 2, so that writer keys
   * deduplicate against every brick (the new segment is written before the old ones go).
   */
  async addLookups(): Promise<void> {
    const keys = [...this.withoutLookup.keys()];
    if (keys.length === 0) return;
    const bricks: Buffer[] = [];
    for (const [key, size] of this.withoutLookup) {
      for (const r of decodeSegment(this.keys, await fetchSegment(this.backend, this.cacheDir, key, size), key)) bricks.push(encodeBrickRecord(r));
    }
    await this.writeSegment(bricks);
    for (const k of keys) {
      await this.backend.delete(k);
      this.withoutLookup.delete(k);
    }
  }

  /** Registers bricks (from a segment, or just written) and their chunks. */
  addBricks(records: readonly BrickRecord[]): void {
    for (const r of records) {
      const idHex = r.id.toString('hex');
      let b = this.brickNumber.get(idHex);
      if (b === undefined) {
        b = this.bricks.length;
        this.bricks.push({ id: r.id, idHex, size: r.size, treeHash: r.treeHash });
        this.brickNumber.set(idHex, b);
      }
      for (const c of r.chunks) {
        this.chunks.add(c.id, { brick: b, offset: c.offset, storedLength: c.storedLength, plainLength: c.plainLength });
      }
    }
  }

  place(id: Uint8Array): ChunkPlace | undefined {
    const loc = this.chunks.get(id);
    return loc ? { brick: this.bricks[loc.brick]!.id, offset: loc.offset, storedLength: loc.storedLength } : undefined;
  }

  hasBrick(idHex: string): boolean {
    return this.brickNumber.has(idHex);
  }

  async writeSegment(bricks: readonly Buffer[]): Promise<string> {
    const key = await writeSegment(this.backend, { dataKey: this.keys.data }, bricks);
    this.loaded.add(key);
    return key;
  }

  async merge(keys: readonly string[], bricks: readonly Buffer[]): Promise<void> {
    if (keys.length < 2) return;
    await this.writeSegment(bricks);
    for (const k of keys) await this.backend.delete(k);
  }
}

/** Writes a new segment of `bricks` (encoded by encodeBrickRecord), sealed as `sealing` says; returns its key. */
export async function writeSegment(backend: Backend, sealing: SegmentSealing, bricks: readonly Buffer[]): Promise<string> {
  // Its time first, so that listing order is roughly writing order.
  const key = `${CATALOGUE_PREFIX}${Date.now().toString(36).padStart(9, '0')}-${randomBytes(12).toString('hex')}`;
  await backend.put(key, sealSegment(sealing, bricks), { ifAbsent: true });
  return key;
}
