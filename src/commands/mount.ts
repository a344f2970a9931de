/**
 * `dtar mount INDEX MOUNTPOINT`: the archive as a read-only filesystem; `dtar mount
 * MOUNTPOINT`: every archive of the store, MOUNTPOINT/<name>/<created>/…. Served in the
 * foreground until SIGINT/SIGTERM or `dtar umount MOUNTPOINT`. File contents come from
 * the store on demand through a byte-bounded cache; with --keep-chunks, fetched chunks also
 * stay on disk (still encrypted, in the cache directory) for the next mount.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Archive, chunkWorkers, loadArchive, loadIndexFile, DEFAULT_CACHE_BYTES } from '../archive/archive';
import { checkIndexStore } from '../index-source/belongs';
import { isStoredName, localIndexSource, once } from '../index-source/source';
import { loadStoredIndexCached } from '../index-source/stored';
import type { Repository } from '../repo/repository';
import { storedCopyAuth } from '../index/seal';
import { ArchiveFilesystem } from '../mount/filesystem';
import { FuseSession, LowLevelFilesystem, unmountElsewhere } from '../mount/mount';
import { StoreFilesystem } from '../mount/store-filesystem';
import { cacheRoot, Io, openRepository, openRepositoryListing, storeLocation, StoreFlags } from './context';
import { parseSize } from './format';
import { openIndex } from './index-file';
import { addStoreOptions } from './options';

interface MountFlags extends StoreFlags {
  cacheSize?: string;
  keepChunks?: boolean;
  archiveMemory?: string;
  allowOther?: boolean;
  quiet?: boolean;
}

/** Kernel read-ahead for the mount; see native-notes/fuse.md for the measurements behind it. */
export const READ_AHEAD_KB = 4096;
/** Whole-store mount: memory the loaded archives may take before the least recently used go. */
const DEFAULT_ARCHIVE_MEMORY = 1024 * 1024 * 1024;
/** Whole-store mount: the smallest chunk cache an archive gets. */
const MIN_ARCHIVE_CACHE = 32 * 1024 * 1024;

/** What a mount serves, ready to mount. */
interface Prepared {
  session: FuseSession;
  fs: LowLevelFilesystem;
  fsname: string;
  /** For the line printed once mounted. */
  what: string;
  started: number;
  /** Work for once the mount answers. */
  mounted?: () => Promise<void>;
}

const owner = (): { uid: number; gid: number } => ({ uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
const reporter = (io: Io) => (line: string): void => void io.stderr.write(`dtar mount: ${line}\n`);

/**
 * One index: its tree loaded whole before mounting. A local file loads while the key is
 * derived (or comes from the tree cache); `@NAME`/`@ID` needs the store open first, to find the copy.
 */
async function prepareIndex(io: Io, index: string, flags: MountFlags, cacheBytes: number): Promise<Prepared> {
  const started = Date.now();
  let repo: Repository;
  let archive: Archive;
  let remember: (() => Promise<void>) | undefined;
  if (isStoredName(index)) {
    const { source, input, repo: opened } = await openIndex(io, index, flags);
    repo = opened;
    const expectedEntries = (await source.expectedEntries()) ?? undefined;
    archive = await loadArchive(input.open(), { where: input.where, expectedEntries, impliedDirs: owner(), auth: input.auth });
  } else {
    const { meta } = await localIndexSource(index);
    const openRepo = async (): Promise<Repository> => {
      const opened = await openRepository(io, flags, meta.store);
      checkIndexStore(meta, opened);
      return opened;
    };
    ({ archive, repo, remember } = await loadIndexFile(index, meta, openRepo, { cacheRoot: cacheRoot(io, flags), impliedDirs: owner() }));
  }
  const files = archive.contents(repo, { cacheBytes, cacheDir: flags.keepChunks ? repo.cacheDir : null });
  const session = new FuseSession();
  const fs = new ArchiveFilesystem(session, archive.tree, files, { thawHint: `dtar thaw ${index}`, report: reporter(io) });
  const fsname = isStoredName(index) ? `dtar:${storeLocation(io, flags)}:${index}` : `dtar:${resolve(index)}`;
  return { session, fs, fsname, what: `${index} (${archive.counts.entries} entries)`, started, mounted: remember };
}

/** The whole store: every stored archive, each loaded from its sealed copy when first entered. */
async function prepareStore(io: Io, flags: MountFlags, cacheBytes: number): Promise<Prepared> {
  const started = Date.now();
  const { repo, stored } = await openRepositoryListing(io, flags);
  const report = reporter(io);
  for (const s of stored) if (!s.meta) report(`${s.key} is left out: ${s.damage ?? 'unreadable'}`);
  const byId = new Map(stored.filter((s) => s.meta).map((s) => [s.id, s]));
  // One set of chunk-opening workers for every archive; each loaded archive gets a share of the cache.
  const pool = chunkWorkers(repo);
  const perArchive = Math.max(MIN_ARCHIVE_CACHE, Math.floor(cacheBytes / 4));
  const session = new FuseSession();
  const fs = new StoreFilesystem(
    session,
    [...byId.values()].map((s) => ({ id: s.id, name: s.meta!.name, created: s.meta!.created })),
    {
      ...owner(),
      report,
      memoryBytes: flags.archiveMemory ? parseSize(flags.archiveMemory, '--archive-memory') : DEFAULT_ARCHIVE_MEMORY,
      load: async (a) => {
        const index = await loadStoredIndexCached(repo, byId.get(a.id)!);
        // The copy's sealing authenticates it (a version 1 index inside needs no warning).
        const archive = await loadArchive(once(index), { where: `stored index ${a.id}`, impliedDirs: owner(), auth: storedCopyAuth(repo.indexAuth) });
        const files = archive.contents(repo, { cacheBytes: perArchive, cacheDir: flags.keepChunks ? repo.cacheDir : null, pool });
        return { tree: archive.tree, files, extraBytes: perArchive };
      },
    },
  );
  return { session, fs, fsname: `dtar:${storeLocation(io, flags)}`, what: `the store (${byId.size} archives)`, started };
}

/** Mounts and resolves once the mount is gone (signal, or unmounted elsewhere). */
export async function mountCommand(io: Io, index: string | null, mountpoint: string, flags: MountFlags, signals: NodeJS.EventEmitter): Promise<void> {
  const cacheBytes = flags.cacheSize ? parseSize(flags.cacheSize, '--cache-size') : DEFAULT_CACHE_BYTES;
  const p = index === null ? await prepareStore(io, flags, cacheBytes) : await prepareIndex(io, index, flags, cacheBytes);
  p.session.onDefect = (e) => reporter(io)(`a request failed with EIO on an internal error (please report it): ${e instanceof Error ? e.message : String(e)}`);
  await p.session.mount(resolve(mountpoint), p.fs, { allowOther: Boolean(flags.allowOther), fsname: p.fsname, readAheadKb: READ_AHEAD_KB });
  // Loading leaves garbage (parsed headers and records, path strings, the read buffers) that
  // V8 would not collect while the mount sits idle: one full collection once the mount
  // answers, so that mount time does not pay for it (docs/ARCHITECTURE.md, Mount).
  const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
  // After the tree is kept, when it is: its writing leaves garbage of its own.
  const after = (p.mounted?.() ?? Promise.resolve()).then(gc, gc);
  const stop = (): void => void p.session.unmount();
  signals.on('SIGINT', stop);
  signals.on('SIGTERM', stop);
  if (!flags.quiet) {
    io.stderr.write(`mounted ${p.what} at ${p.session.mountpoint}, in ${Date.now() - p.started} ms; Ctrl-C or 'dtar umount ${mountpoint}' unmounts\n`);
  }
  try {
    await p.session.gone;
  } finally {
    signals.off('SIGINT', stop);
    signals.off('SIGTERM', stop);
    await after;
  }
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('mount')
      .argument('<INDEX|MOUNTPOINT>', 'index tar written by dtar ingest, or @NAME / @ID of an archive in the store; alone, the mount point of the whole store')
      .argument('[MOUNTPOINT]', 'an existing directory')
      .description('mount a backup, or every backup in the store, read-only (FUSE); stays in the foreground until Ctrl-C, SIGTERM or dtar umount')
      .option('--cache-size <BYTES>', 'memory for decrypted chunks (default 256M)')
      .option('--keep-chunks', 'keep fetched chunks (encrypted) in the cache directory, so that the next mount does not download them again')
      .option('--archive-memory <BYTES>', 'whole store: memory for loaded archives before the least recently used are dropped (default 1G)')
      .option('--allow-other', 'let other users see the mount, as the modes allow (needs user_allow_other in /etc/fuse.conf)')
      .addHelpText(
        'after',
        '\nThe whole store appears as MOUNTPOINT/NAME/CREATED/... for each archive, and MOUNTPOINT/NAME/latest;' +
          '\nan archive is loaded from its copy in the store when first entered.' +
          '\n\nExamples:\n  dtar mount home.index.tar /mnt/backup\n  dtar mount @home /mnt/backup\n  dtar mount home.index.tar /mnt/backup --keep-chunks --cache-size 1G\n  dtar mount --store s3://bucket/backups /mnt/all',
      ),
    { json: false },
  ).action(async (first: string, second: string | undefined, flags: MountFlags) => {
    await mountCommand(io, second === undefined ? null : first, second ?? first, flags, process);
  });
  program
    .command('umount')
    .argument('<MOUNTPOINT>', 'where a dtar mount is mounted')
    .description('unmount a dtar mount (the dtar mount process then exits)')
    .action(async (mountpoint: string) => {
      await unmountElsewhere(mountpoint);
    });
}
