/** The check that an index belongs to the store opened, before any of its chunks is read. */
import { escapeName, WrongStoreError } from '../errors';
import type { IndexMeta } from '../index/meta';
import type { Repository } from '../repo/repository';

export function checkIndexStore(meta: IndexMeta, repo: Repository): void {
  if (meta.storeId !== repo.id) {
    throw new WrongStoreError(`this index belongs to store ${meta.storeId.slice(0, 8)} (${escapeName(meta.store)}), not to the store opened (${repo.id.slice(0, 8)}); give --store`);
  }
}
