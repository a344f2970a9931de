/**
 * Where an index named on the command line comes from: a local index file (compressed or
 * not), or, as `@NAME` or `@ID`, a copy kept in the store, fetched once and cached sealed in
 * the cache directory (loadStoredIndexCached, as the whole-store mount does). Commands read
 * either the same way, as often as they need.
 */
import { access } from 'node:fs/promises';
import { UsageError } from '../errors';
import { indexFileBytes, plausibleEntryCount, readTrailerAtEnd } from '../index/file';
import type { IndexMeta } from '../index/meta';
import { readIndexHeader } from '../index/reader';
import { IndexAuth, storedCopyAuth } from '../index/seal';
import { INDEXES_PREFIX } from '../index/copy';
import type { Repository } from '../repo/repository';
import type { FileBytesOptions } from '../tar/file-bytes';
import { findStoredIndex, listStoredIndexes, loadStoredIndexCached, StoredIndex } from './stored';

export interface IndexSource {
  /** How messages name it: the path, or the `@NAME`/`@ID` given. */
  where: string;
  /** Its header, unauthenticated (see readIndexHeader): which store it belongs to. */
  meta: IndexMeta;
  /** The index tar's bytes from the start, decompressed, on every call. */
  open(options?: FileBytesOptions): AsyncGenerator<Buffer>;
  /** How many entries it says it has, unchecked: to size tables ahead. */
  expectedEntries(): Promise<number | null>;
  /** A copy from the store, which its sealing authenticated already. */
  stored: boolean;
}

/** `@NAME` or `@ID`: an archive in the store rather than a local file (`./@x` names a file). */
export function isStoredName(arg: string): boolean {
  return arg.startsWith('@');
}

/** How `source` is authenticated with the store's `auth`: a stored copy's sealing already did (no warning for a version 1 index inside). */
export function sourceAuth(source: Pick<IndexSource, 'stored'>, auth: IndexAuth): IndexAuth {
  return source.stored ? storedCopyAuth(auth) : auth;
}

/** A local index file, its header read (before the store is open: the header names it). */
export async function localIndexSource(path: string): Promise<IndexSource> {
  try {
    await access(path);
  } catch {
    throw new UsageError(`cannot read index ${path}: no such file`);
  }
  // The header is the first record: a small piece, not the 1 MiB (and 1 MiB read ahead) a whole load uses.
  const meta = await readIndexHeader(indexFileBytes(path, { pieceBytes: 64 * 1024 }), path);
  return { where: path, meta, open: (options) => indexFileBytes(path, options), expectedEntries: async () => plausibleEntryCount(await readTrailerAtEnd(path, meta.tag)) ?? null, stored: false };
}

/** An index held in memory (a stored copy's), as readers take their bytes. */
export async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

/** The archive `@NAME` or `@ID` names in `all` (the store's listing), or, with no listing, by a whole id alone. */
async function findArchive(repo: Repository, nameOrId: string, all?: readonly StoredIndex[]): Promise<StoredIndex> {
  if (all) return findStoredIndex(all, nameOrId);
  // A whole id needs no listing (a store of a thousand archives takes a thousand reads to list).
  const info = /^[0-9A-Za-z-]+$/.test(nameOrId) ? await repo.backend.stat(INDEXES_PREFIX + nameOrId) : null;
  if (info) return { key: INDEXES_PREFIX + nameOrId, id: nameOrId, size: info.size, meta: null };
  return findStoredIndex(await listStoredIndexes(repo), nameOrId);
}

/** `@NAME` or `@ID` (see findStoredIndex), its copy fetched (or taken from the cache) and authenticated; `all`: the listing, when the caller has it. */
export async function storedIndexSource(repo: Repository, arg: string, all?: readonly StoredIndex[]): Promise<IndexSource> {
  const stored = await findArchive(repo, arg.slice(1), all);
  const index = await loadStoredIndexCached(repo, stored);
  const meta = await readIndexHeader(once(index), arg);
  return { where: arg, meta, open: () => once(index), expectedEntries: async () => stored.meta?.entries ?? null, stored: true };
}
