/**
 * A local index whose archive was forgotten and pruned: its bricks are gone on purpose. A read
 * that meets a missing brick asks whether the index's stored copy is gone too, and if so says
 * that in one line (exit 3) instead of reporting damage. Chunks are authenticated by their ids,
 * so a pruned archive can fail to read, never read wrong bytes.
 */
import { stat } from 'node:fs/promises';
import { escapeName, NotFoundError, PrunedError } from '../errors';
import type { IndexMeta } from '../index/meta';
import { copiesOf, listStoredIndexes } from '../index-source/stored';
import type { Repository } from '../repo/repository';
import { BRICKS_PREFIX } from './prune';

/** An index as commands open it: a local file, or a stored copy (`@NAME`/`@ID`), which is its own copy. */
export interface PrunableIndex {
  where: string;
  meta: IndexMeta;
  stored: boolean;
}

/** The error for a local index whose archive has no stored copy left (forgotten, so its bricks may be pruned); null while it has one. */
export async function prunedArchive(repo: Repository, index: PrunableIndex): Promise<PrunedError | null> {
  if (index.stored) return null;
  const { meta } = index;
  const size = (await stat(index.where)).size;
  if (copiesOf(await listStoredIndexes(repo), meta, size).length > 0) return null;
  return new PrunedError(`${escapeName(index.where)}: archive ${escapeName(meta.name)} of ${meta.created} was forgotten and its bricks pruned (no stored copy of it is left): it can no longer be restored`);
}

/** Runs `read`; a brick missing from the store, for an index with no stored copy left, becomes a PrunedError naming it. */
export async function refusePruned<T>(repo: Repository, index: PrunableIndex, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (!(e instanceof NotFoundError) || !e.key.startsWith(BRICKS_PREFIX)) throw e;
    throw (await prunedArchive(repo, index)) ?? e;
  }
}
