/**
 * The heads cache (docs/FORMAT.md, "Heads cache"): the sealed metadata of the store's index
 * copies, kept in the cache directory, so that listing the store again (a second whole-store
 * mount, `dtar archives`, `@NAME`) reads only the store's listing and the heads of copies
 * added since. A copy is immutable, so what its head said stays true for its key and size.
 *
 * The file names its entries (key and size, as the store lists them) in the clear, so that
 * the heads it lacks can be read while the key is still being derived; their metadata is
 * sealed under the store's data key, with the magic, the store id and that list as associated
 * data. An entry is used only once the whole file authenticates: a damaged, truncated,
 * foreign or rewritten file is a miss (its heads are read from the store), never trusted.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seal, tryOpen } from '../crypto/aead';
import { writeCacheFile } from '../fs/cache-file';
import type { IndexCopyMeta } from '../index/copy';

const MAGIC = Buffer.from('DTARHDS1', 'latin1');

/** Where the cache of a store lives, given its cache directory. */
export function headsCachePath(storeCacheDir: string): string {
  return join(storeCacheDir, 'heads');
}

/** `key size` of a listed copy: what an entry is found by. */
export function entryName(key: string, size: number): string {
  return `${key} ${size}`;
}

/** A cache file read but not yet authenticated: the entries it claims to hold. */
export interface UnopenedHeads {
  /** entryName of each entry, in the file's order. */
  readonly names: ReadonlySet<string>;
  /** The entries' metadata by entryName, or null when the file does not authenticate under this store's key. */
  open(dataKey: Buffer, storeId: string): Map<string, IndexCopyMeta> | null;
}

function aad(storeId: string, list: Buffer): Buffer {
  return Buffer.concat([MAGIC, Buffer.from(storeId, 'latin1'), list]);
}

/** The cache file at `path`, or null when there is none or it is not one (a miss). */
export async function readHeadsCache(path: string): Promise<UnopenedHeads | null> {
  const file = await readFile(path).catch(() => null);
  if (!file || file.length < MAGIC.length + 4 || !file.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  const listLength = file.readUInt32LE(MAGIC.length);
  const listEnd = MAGIC.length + 4 + listLength;
  if (listEnd > file.length) return null;
  const list = file.subarray(MAGIC.length + 4, listEnd);
  let names: string[];
  try {
    const parsed: unknown = JSON.parse(list.toString('utf8'));
    if (!Array.isArray(parsed) || !parsed.every((n) => typeof n === 'string')) return null;
    names = parsed as string[];
  } catch {
    return null;
  }
  return {
    names: new Set(names),
    open(dataKey, storeId) {
      const plain = tryOpen(dataKey, file.subarray(listEnd), aad(storeId, list));
      if (!plain) return null;
      const metas = JSON.parse(plain.toString('utf8')) as IndexCopyMeta[];
      if (!Array.isArray(metas) || metas.length !== names.length) return null;
      return new Map(names.map((n, i) => [n, metas[i]!]));
    },
  };
}

/** Replaces the cache file with these entries (entryName to metadata). */
export async function writeHeadsCache(path: string, dataKey: Buffer, storeId: string, entries: ReadonlyMap<string, IndexCopyMeta>): Promise<void> {
  const list = Buffer.from(JSON.stringify([...entries.keys()]), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(list.length);
  const sealed = seal(dataKey, Buffer.from(JSON.stringify([...entries.values()]), 'utf8'), aad(storeId, list));
  await writeCacheFile(path, Buffer.concat([MAGIC, length, list, sealed]));
}
