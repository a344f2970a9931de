/**
 * The index copies kept in the store (`indexes/<id>`): listing them with their sealed
 * metadata (a ranged read of each head), finding one by id or name, and reading one back.
 */
import { decodeIndexCopy, decodeIndexCopyMeta, IndexCopyMeta, INDEXES_PREFIX } from '../index/copy';
import { BadIndexError, CorruptDataError, UsageError } from '../errors';
import type { Repository } from '../repo/repository';

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
  if (head.length >= 12) {
    const need = 12 + head.readUInt32LE(8);
    if (need > head.length && need < 16 * 1024 * 1024) head = await repo.backend.get(key, { offset: 0, length: need });
  }
  return decodeIndexCopyMeta(repo.keys.data, head, key).meta;
}

/** Every stored index, oldest first. */
export async function listStoredIndexes(repo: Repository): Promise<StoredIndex[]> {
  const out: StoredIndex[] = [];
  for await (const o of repo.backend.list(INDEXES_PREFIX)) {
    const entry: StoredIndex = { key: o.key, id: o.key.slice(INDEXES_PREFIX.length), size: o.size, meta: null };
    try {
      entry.meta = await readMeta(repo, o.key);
    } catch (e) {
      if (!(e instanceof CorruptDataError) && !(e instanceof BadIndexError)) throw e;
      entry.damage = e.message;
    }
    out.push(entry);
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** By id, else the newest with that name. */
export function findStoredIndex(all: readonly StoredIndex[], nameOrId: string): StoredIndex {
  const byId = all.find((s) => s.id === nameOrId || s.key === nameOrId);
  if (byId) return byId;
  const named = all.filter((s) => s.meta?.name === nameOrId);
  const newest = named[named.length - 1];
  if (!newest) throw new UsageError(`no stored index named ${nameOrId}; see 'dtar archives'`);
  return newest;
}

/** The index tar of a stored copy (no longer than listed), every segment authenticated. */
export async function loadStoredIndex(repo: Repository, stored: Pick<StoredIndex, 'key' | 'size'>): Promise<Buffer> {
  return Buffer.concat([...decodeIndexCopy(repo.keys.data, await repo.backend.get(stored.key, { maxLength: stored.size }), stored.key)]);
}
