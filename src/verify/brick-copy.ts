/**
 * A verified local copy of a brick, for `verify --read-data`: the brick is downloaded once,
 * its bytes checked against its name (the SHA-256 of the whole brick) and its sealed table
 * authenticated, then its chunks are read from the local file as often as files need them.
 */
import { createHash } from 'node:crypto';
import { open, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BRICK_TRAILER_SIZE, decodeTable, parseTrailer } from '../brick/format';
import { openChunk } from '../brick/chunk-codec';
import type { ChunkRef } from '../index/record';
import { readBrick } from '../brick/reads';
import type { StoreKeys } from '../crypto/keys';
import { CorruptDataError, UnsupportedFormatError } from '../errors';
import type { Backend } from '../store/backend';

export class BrickCopy {
  private constructor(
    readonly hex: string,
    private readonly file: FileHandle,
    private readonly keys: StoreKeys,
  ) {}

  /**
   * Downloads and checks a brick. A damaged one is still kept, with what is wrong with it:
   * its chunks are checked one by one, so that only the files using damaged chunks are
   * reported. `size` is its size in the store: a longer answer is refused. Throws
   * NotFoundError when it is missing.
   */
  static async fetch(backend: Backend, keys: StoreKeys, hex: string, size: number, dir: string): Promise<{ copy: BrickCopy; size: number; problem: string | null }> {
    const bytes = await readBrick(backend, hex, { maxLength: size });
    const where = `brick ${hex}`;
    let problem: string | null = null;
    if (!createHash('sha256').update(bytes).digest().equals(Buffer.from(hex, 'hex'))) problem = 'contents do not match its name (damaged or truncated)';
    try {
      const table = parseTrailer(bytes.subarray(Math.max(0, bytes.length - BRICK_TRAILER_SIZE)), bytes.length, where);
      decodeTable(keys, table, bytes.subarray(table.offset, table.offset + table.length), where);
    } catch (e) {
      // A newer version is believed only from a brick whose bytes match its name; otherwise it is damage.
      if (!(e instanceof CorruptDataError || (e instanceof UnsupportedFormatError && problem !== null))) throw e;
      problem ??= e.message.replace(`${where}: `, '');
    }
    const path = join(dir, hex);
    await writeFile(path, bytes, { mode: 0o600 });
    return { copy: new BrickCopy(hex, await open(path, 'r'), keys), size: bytes.length, problem };
  }

  /** A chunk, authenticated, decompressed and checked against its id. */
  async read(place: ChunkRef): Promise<Buffer> {
    const sealed = Buffer.alloc(place.storedLength);
    const { bytesRead } = await this.file.read(sealed, 0, place.storedLength, place.offset);
    if (bytesRead !== place.storedLength) throw new CorruptDataError(`brick ${this.hex}: chunk lies past the end of the brick`);
    return openChunk(this.keys, place.id, place.plainLength, sealed, `brick ${this.hex}`, 'every');
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
