/**
 * The archive view: an index loaded once into compact tables, as a read-only file tree
 * whose file contents come out of the store on demand. This is what `dtar mount` serves;
 * ls, cat and extract stream the index instead (src/index/reader.ts).
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
import type { IndexMeta, IndexTrailer } from '../index/meta';
import { indexFileBytes, plausibleEntryCount, readTrailerAtEnd } from '../index/file';
import { visitIndex } from '../index/reader';
import { authenticate, IndexAuth } from '../index/seal';
import { BufferPool } from '../read/buffer-pool';
import { ChunkSource } from '../read/chunks';
import { OpenPool } from '../read/open-pool';
import { readShape, StretchPlan } from '../read/plan';
import { StretchCache } from '../read/stretches';
import type { Repository } from '../repo/repository';
import { ArchiveBuilder, ImpliedDirDefaults } from './build';
import { ChunkCache, DEFAULT_CACHE_BYTES } from './chunk-cache';
import { ContentReader } from './content';
import { SealedChunkCache } from './sealed-cache';
import { CachedTree } from './tree-cache';
import { ArchiveTree } from './tree';

export { ArchiveTree } from './tree';
export { tableBytes } from './tables';
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

/** Memory a reader of the archive gives to brick stretches read whole (see StretchCache). */
const STRETCH_BYTES = 128 * 1024 * 1024;

export interface ContentOptions {
  /** Bytes of plaintext chunks kept in memory (default 256 MiB). */
  cacheBytes?: number;
  /** Keep fetched sealed chunks here, so that the next reader does not download them again. */
  cacheDir?: string | null;
  /** Ranged store reads in flight at once (default 8). */
  parallel?: number;
  /** Worker threads that authenticate and decompress chunks (default: one per core; 0: this thread). */
  threads?: number;
  /** Workers to share with other readers (a whole-store mount's archives) instead of starting some. */
  pool?: OpenPool;
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
    const plaintexts = new BufferPool();
    const source = new ChunkSource(repo.backend, repo.keys, {
      parallel: options.parallel ?? 8,
      threads: options.threads,
      pool: options.pool,
      plaintexts,
      stretches: this.stretches(repo),
      sealed: options.cacheDir ? new SealedChunkCache(join(options.cacheDir, 'chunks')) : null,
    });
    return new ContentReader(this.tree, new ChunkCache(chunks, source, options.cacheBytes ?? DEFAULT_CACHE_BYTES, plaintexts));
  }

  /**
   * Bricks most of whose bytes the archive uses are read as one stretch on first use and
   * kept a while (least recently used first): reading a brick's many small files is then one
   * request to the store, not one per file. Which files a reader will read is not known, so
   * stretches are kept by memory alone.
   */
  private stretches(repo: Repository): StretchCache {
    const c = this.tree.tables.chunks;
    const plan = new StretchPlan<number>();
    for (let r = 0; r < c.brick.length; r++) plan.add(c.brick[r]!, c.offset[r]!, c.storedLength[r]!);
    return StretchCache.of(plan, STRETCH_BYTES, readShape(repo.backend).stretchChunk, (b) => c.bricks.toString('hex', b * 32, b * 32 + 32), false);
  }
}

/** Chunk-opening workers to share between the content readers of several archives (ContentOptions.pool). */
export function chunkWorkers(repo: Repository, threads?: number): OpenPool {
  return new OpenPool(repo.keys, threads);
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

/** An index file loaded beside its store's opening. */
export interface IndexFileLoad {
  archive: Archive;
  repo: Repository;
  /** Keeps the tables in the tree cache when they were parsed (not when they came from it); failures are silent. */
  remember(): Promise<void>;
}

/**
 * Loads index file `path`, whose header `meta` was read, while `openRepo` opens its store
 * (the key derivation runs on the thread pool meanwhile). When the tree cache under
 * `cacheRoot` holds the index (the MAC in its trailer names it), nothing but its two ends is
 * read; the archive is authenticated by `contents(repo)` either way.
 */
export async function loadIndexFile(
  path: string,
  meta: IndexMeta,
  openRepo: () => Promise<Repository>,
  options: { cacheRoot: string | null; impliedDirs: { uid: number; gid: number } },
): Promise<IndexFileLoad> {
  const found = await readTrailerAtEnd(path, meta.tag);
  const place = CachedTree.of(options.cacheRoot, meta, found?.trailer ?? null, { mode: 0o755, ...options.impliedDirs });
  const stopParsing = new AbortController();
  const parse = (): Promise<Archive> =>
    loadArchive(indexFileBytes(path, { signal: stopParsing.signal }), { where: path, expectedEntries: plausibleEntryCount(found), impliedDirs: options.impliedDirs });
  const parsing = place && (await place.exists()) ? null : parse();
  parsing?.catch(() => undefined); // awaited below, once the store is open
  let repo: Repository;
  try {
    repo = await openRepo();
  } catch (e) {
    stopParsing.abort(); // a wrong passphrase should not wait for a large index to load
    throw e;
  }
  const cached = parsing === null ? await place!.load(repo.keys.data) : null;
  const archive = cached ? new Archive(meta, found!.trailer, new ArchiveTree(cached.tables), cached.counts, { where: path, checked: false }) : await (parsing ?? parse());
  return {
    archive,
    repo,
    remember: async () => {
      if (place && !cached) await place.save(repo.keys.data, archive.tree.tables, archive.counts);
    },
  };
}
