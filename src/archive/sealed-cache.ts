/**
 * The optional on-disk cache of sealed chunks (mount --keep-chunks, in the cache directory):
 * each chunk's stored bytes, still encrypted, under its brick id and offset. A brick is
 * immutable and named by its hash, so an entry never goes stale; whatever is read back is
 * authenticated again when the chunk is opened, so a damaged cache file is only a miss,
 * never wrong data.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeCacheFile } from '../fs/cache-file';

export class SealedChunkCache {
  constructor(private readonly dir: string) {}

  private pathOf(brickHex: string, offset: number, length: number): string {
    return join(this.dir, brickHex.slice(0, 2), `${brickHex}-${offset}-${length}`);
  }

  /** The cached sealed bytes, or null (absent, unreadable or the wrong size). */
  async get(brickHex: string, offset: number, length: number): Promise<Buffer | null> {
    try {
      const b = await readFile(this.pathOf(brickHex, offset, length));
      return b.length === length ? b : null;
    } catch {
      return null;
    }
  }

  /** Stores sealed bytes; failures (disk full, permissions) only cost a later download. */
  async put(brickHex: string, offset: number, sealed: Buffer): Promise<void> {
    const path = this.pathOf(brickHex, offset, sealed.length);
    try {
      await writeCacheFile(path, sealed);
    } catch {
      // A cache that cannot be written is just not a cache.
    }
  }
}
