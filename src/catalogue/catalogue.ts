/**
 * The store's chunk catalogue: which brick holds each chunk, so that ingest can
 * deduplicate against everything ever stored without reading a brick (bricks may be in
 * cold storage). It is the union of all `catalogue/*` segments; segments are immutable,
 * so a local cache of them (still sealed) makes loading incremental.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend, ObjectInfo } from '../store/backend';
import { NotFoundError } from '../errors';
import { makeDirs } from '../fs/make-dirs';
import { ChunkLocation, ChunkTable } from './chunk-table';
import { BrickRecord, decodeSegment, sealSegment } from './segment';

export const CATALOGUE_PREFIX = 'catalogue/';

export interface BrickInfo {
  id: Buffer;
  idHex: string;
  size: number;
  treeHash: Buffer;
}

export class Catalogue {
  readonly chunks = new ChunkTable();
  readonly bricks: BrickInfo[] = [];
  private readonly brickIndex = new Map<string, number>();
  private readonly loaded = new Set<string>();

  constructor(
    private readonly backend: Backend,
    private readonly dataKey: Buffer,
    /** Directory for cached sealed segments, or null for none. */
    private readonly cacheDir: string | null,
  ) {}

  /** Loads the segments not loaded yet. */
  async refresh(): Promise<void> {
    const found: ObjectInfo[] = [];
    for await (const o of this.backend.list(CATALOGUE_PREFIX)) {
      if (!this.loaded.has(o.key)) found.push(o);
    }
    found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const { key, size } of found) {
      let sealed: Buffer;
      try {
        sealed = await this.fetch(key, size);
      } catch (e) {
        // A segment merged away between list and get: its bricks are in the merged one.
        if (e instanceof NotFoundError) continue;
        throw e;
      }
      this.addBricks(decodeSegment(this.dataKey, sealed, key));
      this.loaded.add(key);
    }
  }

  /** A segment, `size` bytes as listed, from the cache or the store. */
  private async fetch(key: string, size: number): Promise<Buffer> {
    if (!this.cacheDir) return this.backend.get(key, { maxLength: size });
    const file = join(this.cacheDir, key.replace(/\//g, '_'));
    try {
      return await readFile(file);
    } catch {
      const data = await this.backend.get(key, { maxLength: size });
      await makeDirs(this.cacheDir, 0o700);
      const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(tmp, data, { mode: 0o600 });
      await rename(tmp, file);
      return data;
    }
  }

  /** Registers bricks (from a segment, or just written) and their chunks. */
  addBricks(records: readonly BrickRecord[]): void {
    for (const r of records) {
      const idHex = r.id.toString('hex');
      let b = this.brickIndex.get(idHex);
      if (b === undefined) {
        b = this.bricks.length;
        this.bricks.push({ id: r.id, idHex, size: r.size, treeHash: r.treeHash });
        this.brickIndex.set(idHex, b);
      }
      for (const c of r.chunks) {
        this.chunks.add(c.id, { brick: b, offset: c.offset, storedLength: c.storedLength, plainLength: c.plainLength });
      }
    }
  }

  lookup(id: Uint8Array): (ChunkLocation & { brickInfo: BrickInfo }) | undefined {
    const loc = this.chunks.get(id);
    return loc ? { ...loc, brickInfo: this.bricks[loc.brick]! } : undefined;
  }

  hasBrick(idHex: string): boolean {
    return this.brickIndex.has(idHex);
  }

  /**
   * Writes a segment for bricks that are already durable in the store (each encoded by
   * encodeBrickRecord); returns its key.
   */
  async writeSegment(bricks: readonly Buffer[]): Promise<string> {
    const key = `${CATALOGUE_PREFIX}${Date.now().toString(36).padStart(9, '0')}-${randomBytes(12).toString('hex')}`;
    await this.backend.put(key, sealSegment(this.dataKey, bricks), { ifAbsent: true });
    this.loaded.add(key);
    return key;
  }

  /** Replaces segments by one holding the same bricks (the merged one is written first). */
  async merge(keys: readonly string[], bricks: readonly Buffer[]): Promise<void> {
    if (keys.length < 2) return;
    await this.writeSegment(bricks);
    for (const k of keys) await this.backend.delete(k);
  }
}
