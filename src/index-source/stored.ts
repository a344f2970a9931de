/**
 * The index copies kept in the store (`indexes/<id>`): listing them with their sealed
 * metadata (a ranged read of each head), finding one by id or name, and reading one back.
 * Copies are ordered by their sealed creation time: their names are not authenticated, and
 * an old copy stored again under a later name must not pass for the newest.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeCacheFile } from '../fs/cache-file';
import { decodeIndexCopy, decodeIndexCopyMeta, IndexCopyMeta, indexCopyHeadLength, INDEXES_PREFIX } from '../index/copy';
import { BadIndexError, CorruptDataError, escapeName, UnsupportedFormatError, UsageError } from '../errors';
import type { Repository } from '../repo/repository';
import type { IndexMeta } from '../index/meta';

const HEAD = 16 * 1024;

export interface StoredIndex {
  key: string;
  /** The key without its prefix: what `archives get` takes. */
  id: string;
  /** Bytes stored. */
  size: number;
  meta: IndexCopyMeta | null;
  /** Why the metadata could not be read, when it could not. */
  damage?: string;
}

async function readMeta(repo: Repository, key: string): Promise<IndexCopyMeta> {
  let head = await repo.backend.get(key, { offset: 0, length: HEAD });
  const need = indexCopyHeadLength(head, key);
  if (need > head.length && need < 16 * 1024 * 1024) head = await repo.backend.get(key, { offset: 0, length: need });
  return decodeIndexCopyMeta(repo.keys, head, key).meta;
}

/** When a copy was made, by its sealed metadata; copies whose metadata cannot be read come first. */
function createdTime(s: StoredIndex): number {
  const t = s.meta ? Date.parse(s.meta.created) : NaN;
  return Number.isNaN(t) ? -Infinity : t;
}

/** Every stored index, oldest first by the time sealed in it (then by id). */
export async function listStoredIndexes(repo: Repository): Promise<StoredIndex[]> {
  const out: StoredIndex[] = [];
  for await (const o of repo.backend.list(INDEXES_PREFIX)) out.push({ key: o.key, id: o.key.slice(INDEXES_PREFIX.length), size: o.size, meta: null });
  // All heads asked for at once (the backend bounds how many reads are in flight): a store of
  // a thousand archives lists in the time of a few round trips, not a thousand.
  await Promise.all(
    out.map(async (entry) => {
      try {
        entry.meta = await readMeta(repo, entry.key);
      } catch (e) {
        if (!(e instanceof CorruptDataError || e instanceof BadIndexError || e instanceof UnsupportedFormatError)) throw e;
        entry.damage = e.message;
      }
    }),
  );
  return out.sort((a, b) => createdTime(a) - createdTime(b) || a.id.localeCompare(b.id));
}

/**
 * An archive as a user names it (`archives get NAME`, `@NAME` or `@ID`): an id, else the
 * newest copy with that name, else the one copy whose id starts with it. No match, or a
 * prefix of several ids, is a usage error naming what was found.
 */
export function findStoredIndex(all: readonly StoredIndex[], nameOrId: string): StoredIndex {
  const byId = all.find((s) => s.id === nameOrId || s.key === nameOrId);
  if (byId) return byId;
  const named = all.filter((s) => s.meta?.name === nameOrId);
  const newest = named[named.length - 1];
  if (newest) return newest;
  const prefixed = nameOrId === '' ? [] : all.filter((s) => s.id.startsWith(nameOrId));
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1) {
    const some = prefixed.slice(0, 3).map((s) => s.id).join(', ');
    throw new UsageError(`${escapeName(nameOrId)} is ambiguous: ${prefixed.length} archive ids start with it (${some}${prefixed.length > 3 ? ', ...' : ''}); give more of the id`);
  }
  throw new UsageError(`no archive named ${escapeName(nameOrId)} and no archive id starting with it in the store; see 'dtar archives'`);
}

/**
 * The stored copies that may be a local index's own: same tag; for copies too old to record
 * one, same name and size.
 */
export function copiesOf(all: readonly StoredIndex[], meta: Pick<IndexMeta, 'tag' | 'name'>, indexSize: number): StoredIndex[] {
  return all.filter((s) => s.meta && (s.meta.tag !== undefined ? s.meta.tag === meta.tag : s.meta.name === meta.name && s.meta.indexSize === indexSize));
}

/** The index tar held in a stored copy's bytes, every segment authenticated. */
function indexOf(repo: Repository, sealed: Buffer, key: string): Buffer {
  return Buffer.concat([...decodeIndexCopy(repo.keys, sealed, key)]);
}

/** The index tar of a stored copy, every segment authenticated. */
export async function loadStoredIndex(repo: Repository, stored: Pick<StoredIndex, 'key' | 'size'>): Promise<Buffer> {
  return indexOf(repo, await repo.backend.get(stored.key, { maxLength: stored.size }), stored.key);
}

/**
 * The index tar of a stored copy, kept sealed in the cache directory so that the next reader
 * (a whole-store mount entering the archive again) does not download it again. A cached copy
 * that does not authenticate is fetched anew.
 */
export async function loadStoredIndexCached(repo: Repository, stored: Pick<StoredIndex, 'key' | 'size'>): Promise<Buffer> {
  const key = stored.key;
  const path = repo.cacheDir ? join(repo.cacheDir, key) : null;
  if (path) {
    try {
      return indexOf(repo, await readFile(path), key);
    } catch {
      // Absent or damaged: the store has it.
    }
  }
  const sealed = await repo.backend.get(key, { maxLength: stored.size });
  const index = indexOf(repo, sealed, key);
  if (path) {
    try {
      await writeCacheFile(path, sealed);
    } catch {
      // A cache that cannot be written only costs a download next time.
    }
  }
  return index;
}
