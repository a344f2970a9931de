/** Opening an index file named on the command line, and the store it records. */
import { access } from 'node:fs/promises';
import { BadIndexError, UsageError } from '../errors';
import type { IndexMeta } from '../index/meta';
import { readIndex } from '../index/reader';
import type { Repository } from '../repo/repository';
import { Io, openRepository, StoreFlags } from './context';
import { indexFileBytes } from '../index/file';

export async function readIndexMeta(path: string): Promise<IndexMeta> {
  try {
    await access(path);
  } catch {
    throw new UsageError(`cannot read index ${path}: no such file`);
  }
  // The header is the first record: a small piece, not the 1 MiB (and 1 MiB read ahead) a whole load uses.
  for await (const item of readIndex(indexFileBytes(path, { pieceBytes: 64 * 1024 }), path)) {
    if (item.kind === 'meta') return item.meta;
    break;
  }
  throw new BadIndexError(`${path}: not a dtar index`);
}

/** Opens the store of an index: --store, $DTAR_STORE, else the one the index records. */
export async function openIndexStore(io: Io, path: string, flags: StoreFlags): Promise<{ meta: IndexMeta; repo: Repository }> {
  const meta = await readIndexMeta(path);
  const repo = await openRepository(io, flags, meta.store);
  return { meta, repo };
}
