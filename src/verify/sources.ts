/**
 * What `dtar verify` checks, from the names it is given: local index files, each with the
 * stored copies that may be its own (same tag; for copies too old to record it, same name and
 * size), and `@NAME`/`@ID`, a stored copy read from the store itself (not from the cache: it
 * is the store that is checked); with no names, every stored copy.
 */
import { stat } from 'node:fs/promises';
import { escapeName } from '../errors';
import { isStoredName, localIndexSource } from '../index-source/source';
import { copiesOf, findStoredIndex, listStoredIndexes, loadStoredIndex, StoredIndex } from '../index-source/stored';
import type { Repository } from '../repo/repository';
import type { IndexToVerify } from './verify';

export async function indexesToVerify(repo: Repository, names: readonly string[]): Promise<IndexToVerify[]> {
  const stored = await listStoredIndexes(repo);
  if (names.length === 0) return stored.map((s) => storedIndex(repo, s));
  const out: IndexToVerify[] = [];
  for (const name of names) {
    if (isStoredName(name)) {
      out.push(storedIndex(repo, findStoredIndex(stored, name.slice(1))));
      continue;
    }
    const { meta, open } = await localIndexSource(name);
    const size = (await stat(name)).size;
    const mine = copiesOf(stored, meta, size);
    out.push({ name, open: () => open(), stored: false, copies: mine.map((s) => ({ id: s.id, load: () => loadStoredIndex(repo, s) })) });
  }
  return out;
}

function storedIndex(repo: Repository, s: StoredIndex): IndexToVerify {
  return {
    name: s.meta ? `${escapeName(s.meta.name)} (${s.id})` : s.id,
    stored: true,
    async *open() {
      yield await loadStoredIndex(repo, s);
    },
  };
}
