/**
 * Opening the index named on the command line (a file, or `@NAME`/`@ID` in the store) and
 * the store it belongs to.
 */
import { checkIndexStore } from '../index-source/belongs';
import { IndexSource, isStoredName, localIndexSource, sourceAuth, storedIndexSource } from '../index-source/source';
import type { StoredIndex } from '../index-source/stored';
import { IndexInput, IndexItem, readIndex, visitIndex } from '../index/reader';
import type { Repository } from '../repo/repository';
import { Io, openRepository, StoreFlags } from './context';

/** How commands describe their INDEX argument. */
export const INDEX_ARGUMENT = 'index tar written by dtar ingest (compressed or not), or @NAME / @ID of an archive in the store';

export interface OpenIndex {
  source: IndexSource;
  repo: Repository;
  /** The index as the use cases read it, authenticated as its source needs. */
  input: IndexInput;
  /** The index's items, authenticated with the store's key when the end is reached. */
  items(): AsyncGenerator<IndexItem>;
  /** Reads the index whole, only to authenticate it: for a command that acts on items as they come. */
  check(): Promise<void>;
}

/**
 * The store a list of index arguments points to: the one the first local file records
 * (`@NAME` is in the store given by --store or $DTAR_STORE, or the default one).
 */
export async function recordedStore(args: readonly string[]): Promise<string | undefined> {
  const local = args.find((a) => !isStoredName(a));
  return local === undefined ? undefined : (await localIndexSource(local)).meta.store;
}

/** Each index argument, in `repo` (already open); `all`: the store's listing, when the caller has it. */
export async function indexSource(repo: Repository, arg: string, all?: readonly StoredIndex[]): Promise<IndexSource> {
  const source = isStoredName(arg) ? await storedIndexSource(repo, arg, all) : await localIndexSource(arg);
  checkIndexStore(source.meta, repo);
  return source;
}

/** `source` as the use cases read it, authenticated as it needs (a stored copy's sealing did already). */
export function indexInput(source: IndexSource, repo: Repository): IndexInput {
  return { where: source.where, open: () => source.open(), auth: sourceAuth(source, repo.indexAuth) };
}

/** Opens the store of an index (--store, $DTAR_STORE, else the one it records) and checks the index belongs to it. */
export async function openIndex(io: Io, arg: string, flags: StoreFlags): Promise<OpenIndex> {
  let source: IndexSource;
  let repo: Repository;
  if (isStoredName(arg)) {
    repo = await openRepository(io, flags);
    source = await storedIndexSource(repo, arg);
  } else {
    source = await localIndexSource(arg);
    repo = await openRepository(io, flags, source.meta.store);
  }
  checkIndexStore(source.meta, repo);
  const input = indexInput(source, repo);
  return {
    source,
    repo,
    input,
    items: () => readIndex(input.open(), input.where, input.auth),
    check: () => visitIndex(input.open(), input.where, input.auth, () => undefined),
  };
}
