/**
 * The archive view: an index loaded once into compact tables, as a read-only file tree
 * whose file contents come out of the store on demand. This is what `dtar mount` serves
 * and what `cat`, `ls` and `extract` read through.
 *
 *   const archive = await loadArchive(indexFileBytes(indexPath), { where: indexPath, auth: repo.indexAuth });
 *   archive.tree.resolve('etc/passwd')          -> inode number or null
 *   archive.tree.stat(ino), .readdir(ino), .readlink(ino), .xattrs(ino), .walk()
 *   const files = archive.contents(repo, { cacheBytes, cacheDir });
 *   await files.read(ino, offset, length, buf)  -> bytes read (holes as zeros)
 *   files.open(ino).read(...)                   -> the same, with read-ahead
 *   for await (const b of files.stream(ino))    -> the whole file
 */
import { join } from 'node:path';
import { BufferPool } from '../brick/buffer-pool';
import { OpenPool } from '../brick/open-pool';
import { SPAN_BYTES } from '../brick/reads';
import type { IndexMeta, IndexTrailer } from '../index/meta';
import { visitIndex } from '../index/reader';
import { authenticate, IndexAuth } from '../index/seal';
import type { Repository } from '../repo/repository';
import { ArchiveBuilder, ImpliedDirDefaults } from './build';
import { ChunkCache, DEFAULT_CACHE_BYTES } from './chunk-cache';
import { ContentReader } from './content';
import { ChunkFetcher } from './fetch';
import { SealedChunkCache } from './sealed-cache';
import { ArchiveTree } from './tree';

export { ArchiveTree } from './tree';
export type { DirEntry, InodeKind, InodeStat } from './tree';
export { ContentReader, OpenFile } from './content';
export { DEFAULT_CACHE_BYTES } from './chunk-cache';
export { normalizePath } from './build';
export type { ImpliedDirDefaults } from './build';

export interface LoadOptions {
  /** Names the index in errors. */
  where?: string;
  /** Owner, mode and mtime of directories no entry describes (default: root, 0755, the index's creation time). */
  impliedDirs?: Partial<ImpliedDirDefaults>;
  /** The entry count the index states (its trailer), if known: the tables are sized for it up front. */
  expectedEntries?: number;
  /**
   * The store's index authenticator. Without it (a mount loads the index while the key is
   * still being derived) the archive is authenticated by `contents(repo)`, and hands out
   * nothing before.
   */
  auth?: IndexAuth;
}

export interface ContentOptions {
  /** Bytes of plaintext chunks kept in memory (default 256 MiB). */
  cacheBytes?: number;
  /** Keep fetched sealed chunks here, so that the next reader does not download them again. */
  cacheDir?: string | null;
  /** Ranged store reads in flight at once (default 8). */
  parallel?: number;
  /** Worker threads that authenticate and decompress chunks (default: one per core; 0: this thread). */
  threads?: number;
}

export class Archive {
  private checked: boolean;

  constructor(
    readonly meta: IndexMeta,
    readonly trailer: IndexTrailer,
    private readonly loadedTree: ArchiveTree,
    /** Entries in the index, and how many of them extraction would skip (".." paths, dangling hard links, labels). */
    readonly counts: { entries: number; skipped: number },
    /** Names the index in errors; `checked`: authenticated while it loaded. */
    private readonly load: { where: string; checked: boolean },
  ) {
    this.checked = load.checked;
  }

  /** The file tree; only once the index is authenticated. */
  get tree(): ArchiveTree {
    if (!this.checked) throw new Error('archive used before its index was authenticated: call contents(repo) first');
    return this.loadedTree;
  }

  /**
   * A reader of file contents from the archive's store (the repository must be the index's
   * store). Authenticates the index first, if loading did not.
   */
  contents(repo: Repository, options: ContentOptions = {}): ContentReader {
    if (!this.checked) {
      authenticate(this.meta, this.trailer, repo.indexAuth, this.load.where);
      this.checked = true;
    }
    const chunks = this.tree.tables.chunks;
    const sealedCache = options.cacheDir ? new SealedChunkCache(join(options.cacheDir, 'chunks')) : null;
    const pool = options.threads === 0 ? undefined : new OpenPool(repo.keys, options.threads);
    const plaintexts = new BufferPool();
    const fetcher = new ChunkFetcher(chunks, repo.backend, repo.keys, { parallel: options.parallel ?? 8, sealedCache, spanBytes: SPAN_BYTES, pool, plaintexts });
    return new ContentReader(this.tree, new ChunkCache(chunks, fetcher, options.cacheBytes ?? DEFAULT_CACHE_BYTES, plaintexts));
  }
}

/** Reads a whole index into an archive view. Throws BadIndexError for a damaged or truncated index. */
export async function loadArchive(source: AsyncIterable<Uint8Array>, options: LoadOptions = {}): Promise<Archive> {
  const where = options.where ?? 'index';
  let meta: IndexMeta | null = null;
  let trailer: IndexTrailer | null = null;
  let builder: ArchiveBuilder | null = null;
  await visitIndex(source, where, options.auth ?? null, (item) => {
    if (item.kind === 'entry') builder!.add(item);
    else if (item.kind === 'meta') {
      meta = item.meta;
      const created = Date.parse(item.meta.created);
      builder = new ArchiveBuilder({ uid: 0, gid: 0, mode: 0o755, mtimeMs: Number.isNaN(created) ? 0 : created, ...options.impliedDirs }, options.expectedEntries);
    } else if (item.kind === 'trailer') trailer = item.trailer;
  });
  // visitIndex guarantees a meta first and a trailer last, or throws.
  return new Archive(meta!, trailer!, new ArchiveTree(builder!.finish()), { entries: builder!.entries, skipped: builder!.skipped }, { where, checked: options.auth !== undefined });
}
