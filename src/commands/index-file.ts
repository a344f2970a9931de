/** Opening an index file named on the command line, and the store it records. */
import { access } from 'node:fs/promises';
import { UsageError } from '../errors';
import type { IndexMeta } from '../index/meta';
import { IndexItem, readIndex, readIndexHeader, visitIndex } from '../index/reader';
import type { Repository } from '../repo/repository';
import { Io, openRepository, StoreFlags } from './context';
import { indexFileBytes } from '../index/file';
import { checkIndexStore } from './index-store';

/** The header of an index, unauthenticated: only to find its store (see readIndexHeader). */
export async function readIndexMeta(path: string): Promise<IndexMeta> {
  try {
    await access(path);
  } catch {
    throw new UsageError(`cannot read index ${path}: no such file`);
  }
  // The header is the first record: a small piece, not the 1 MiB (and 1 MiB read ahead) a whole load uses.
  return readIndexHeader(indexFileBytes(path, { pieceBytes: 64 * 1024 }), path);
}

export interface OpenIndex {
  meta: IndexMeta;
  repo: Repository;
  /** The index's items, authenticated with the store's key when the end is reached. */
  items(): AsyncGenerator<IndexItem>;
  /** Reads the index whole, only to authenticate it: for a command that acts on items as they come. */
  check(): Promise<void>;
}

/** Opens the store of an index (--store, $DTAR_STORE, else the one it records) and checks the index belongs to it. */
export async function openIndex(io: Io, path: string, flags: StoreFlags): Promise<OpenIndex> {
  const meta = await readIndexMeta(path);
  const repo = await openRepository(io, flags, meta.store);
  checkIndexStore(meta, repo);
  return {
    meta,
    repo,
    items: () => readIndex(indexFileBytes(path), path, repo.indexAuth),
    check: () => visitIndex(indexFileBytes(path), path, repo.indexAuth, () => undefined),
  };
}
