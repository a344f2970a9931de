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
import type { Backend, ObjectInfo } from '../store/backend';
import { entryName, headsCachePath, readHeadsCache, UnopenedHeads, writeHeadsCache } from './heads-cache';

/**
 * Bytes read first from a copy: its header and sealed metadata take about 300 (more for a
 * long name, read again whole then). Small, because a store of a thousand archives reads a
 * thousand of them: over S3 they are the listing's download.
 */
const HEAD = 1024;

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

/** A copy's header and sealed metadata, as stored: reading them needs no key. */
async function readHead(backend: Backend, key: string): Promise<Buffer> {
  const head = await backend.get(key, { offset: 0, length: HEAD });
  const need = indexCopyHeadLength(head, key);
  return need > head.length && need < 16 * 1024 * 1024 ? backend.get(key, { offset: 0, length: need }) : head;
}

/** What listing the copies needs before the store's key: begun early (beginListing), it overlaps the key's derivation. */
export interface BegunListing {
  objects: ObjectInfo[];
  cache: UnopenedHeads | null;
  cachePath: string | null;
  /** Heads being read: of every copy the heads cache does not name. */
  heads: Map<string, Promise<Buffer>>;
}

/**
 * Lists the copies, reads the heads cache of the store's cache directory (once known) and
 * starts reading the heads it lacks. Nothing here needs the key; listStoredIndexes finishes.
 */
export async function beginListing(backend: Backend, storeCacheDir: Promise<string | null>): Promise<BegunListing> {
  const cacheRead = storeCacheDir.then(async (dir) => {
    const path = dir === null ? null : headsCachePath(dir);
    return { path, cache: path === null ? null : await readHeadsCache(path) };
  });
  cacheRead.catch(() => undefined); // awaited below, after the listing
  const objects: ObjectInfo[] = [];
  for await (const o of backend.list(INDEXES_PREFIX)) objects.push(o);
  const { path, cache } = await cacheRead;
  const heads = new Map<string, Promise<Buffer>>();
  // All asked for at once (the backend bounds how many reads are in flight): a store of a
  // thousand archives lists in the time of a few round trips, not a thousand.
  for (const o of objects) {
    if (cache?.names.has(entryName(o.key, o.size))) continue;
    const head = readHead(backend, o.key);
    head.catch(() => undefined); // a damaged copy's error is reported once the key is known
    heads.set(o.key, head);
  }
  return { objects, cache, cachePath: path, heads };
}

/** When a copy was made, by its sealed metadata; copies whose metadata cannot be read come first. */
function createdTime(s: StoredIndex): number {
  const t = s.meta ? Date.parse(s.meta.created) : NaN;
  return Number.isNaN(t) ? -Infinity : t;
}

/**
 * Every stored index, oldest first by the time sealed in it (then by id). Metadata comes from
 * the heads cache where it authenticates, else from the copy's head, and the cache is
 * rewritten when it lacked any (or named copies that are gone).
 */
export async function listStoredIndexes(repo: Repository, begun?: Promise<BegunListing>): Promise<StoredIndex[]> {
  const b = await (begun ?? beginListing(repo.backend, Promise.resolve(repo.cacheDir)));
  const cached = b.cache?.open(repo.keys.data, repo.id) ?? null;
  let hits = 0;
  let read = 0;
  const out = await Promise.all(
    b.objects.map(async (o): Promise<StoredIndex> => {
      const entry: StoredIndex = { key: o.key, id: o.key.slice(INDEXES_PREFIX.length), size: o.size, meta: cached?.get(entryName(o.key, o.size)) ?? null };
      if (entry.meta) {
        hits++;
        return entry;
      }
      try {
        // A head not begun: the cache named its copy but did not authenticate.
        entry.meta = decodeIndexCopyMeta(repo.keys, await (b.heads.get(o.key) ?? readHead(repo.backend, o.key)), o.key).meta;
        read++;
      } catch (e) {
        if (!(e instanceof CorruptDataError || e instanceof BadIndexError || e instanceof UnsupportedFormatError)) throw e;
        entry.damage = e.message;
      }
      return entry;
    }),
  );
  out.sort((a, b) => createdTime(a) - createdTime(b) || a.id.localeCompare(b.id));
  if (b.cachePath !== null && (read > 0 || hits !== (cached?.size ?? 0))) {
    const entries = new Map(out.filter((s) => s.meta).map((s) => [entryName(s.key, s.size), s.meta!]));
    try {
      await writeHeadsCache(b.cachePath, repo.keys.data, repo.id, entries);
    } catch {
      // A cache that cannot be written only costs the head reads next time.
    }
  }
  return out;
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
