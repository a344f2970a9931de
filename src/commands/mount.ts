/**
 * `dtar mount INDEX MOUNTPOINT`: the archive as a read-only filesystem, served in the
 * foreground until SIGINT/SIGTERM or `dtar umount MOUNTPOINT`. File contents come from
 * the store on demand through a byte-bounded cache; with --keep-chunks, fetched chunks also
 * stay on disk (still encrypted, in the cache directory) for the next mount.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadArchive, DEFAULT_CACHE_BYTES } from '../archive';
import { indexFileBytes, trailerEntryCount } from '../index/file';
import { ArchiveFilesystem } from '../mount/filesystem';
import { FuseSession, unmountElsewhere } from '../mount/mount';
import type { Repository } from '../repo/repository';
import { Io, openRepository, StoreFlags } from './context';
import { parseSize } from './format';
import { checkIndexStore } from './index-store';
import { readIndexMeta } from './index-file';
import { addStoreOptions } from './options';

interface MountFlags extends StoreFlags {
  cacheSize?: string;
  keepChunks?: boolean;
  allowOther?: boolean;
  quiet?: boolean;
}

/** Kernel read-ahead for the mount; see native-notes/fuse.md for the measurements behind it. */
export const READ_AHEAD_KB = 4096;

/** Mounts and resolves once the mount is gone (signal, or unmounted elsewhere). */
export async function mountCommand(io: Io, index: string, mountpoint: string, flags: MountFlags, signals: NodeJS.EventEmitter): Promise<void> {
  const cacheBytes = flags.cacheSize ? parseSize(flags.cacheSize, '--cache-size') : DEFAULT_CACHE_BYTES;
  const started = Date.now();
  const meta = await readIndexMeta(index);
  // The index loads while the passphrase is read and the key derived (scrypt, on the thread pool).
  const stopLoading = new AbortController();
  const expectedEntries = (await trailerEntryCount(index, meta.tag)) ?? undefined;
  const loading = loadArchive(indexFileBytes(index, { signal: stopLoading.signal }), { where: index, expectedEntries, impliedDirs: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 } });
  loading.catch(() => undefined); // awaited below, once the store is open
  let repo: Repository;
  try {
    repo = await openRepository(io, flags, meta.store);
    checkIndexStore(meta, repo);
  } catch (e) {
    stopLoading.abort(); // a wrong passphrase should not wait for a large index to load
    throw e;
  }
  const archive = await loading;
  const files = archive.contents(repo, { cacheBytes, cacheDir: flags.keepChunks ? repo.cacheDir : null });
  const session = new FuseSession();
  const fs = new ArchiveFilesystem(session, archive.tree, files, {
    thawHint: `dtar thaw ${index}`,
    report: (line) => io.stderr.write(`dtar mount: ${line}\n`),
  });
  await session.mount(resolve(mountpoint), fs, {
    allowOther: Boolean(flags.allowOther),
    fsname: `dtar:${resolve(index)}`,
    readAheadKb: READ_AHEAD_KB,
  });
  // Loading leaves garbage (parsed headers and records, path strings, the read buffers) that
  // V8 would not collect while the mount sits idle: one full collection once the mount
  // answers, so that mount time does not pay for it (docs/ARCHITECTURE.md, Mount).
  setImmediate(() => (globalThis as { gc?: () => void }).gc?.());
  const stop = (): void => void session.unmount();
  signals.on('SIGINT', stop);
  signals.on('SIGTERM', stop);
  if (!flags.quiet) {
    io.stderr.write(
      `mounted ${index} at ${session.mountpoint} (${archive.counts.entries} entries, loaded in ${Date.now() - started} ms); ` +
        `Ctrl-C or 'dtar umount ${mountpoint}' unmounts\n`,
    );
  }
  try {
    await session.gone;
  } finally {
    signals.off('SIGINT', stop);
    signals.off('SIGTERM', stop);
  }
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('mount')
      .argument('<INDEX>', 'index tar written by dtar ingest')
      .argument('<MOUNTPOINT>', 'an existing directory')
      .description('mount a backup read-only (FUSE); stays in the foreground until Ctrl-C, SIGTERM or dtar umount')
      .option('--cache-size <BYTES>', 'memory for decrypted chunks (default 256M)')
      .option('--keep-chunks', 'keep fetched chunks (encrypted) in the cache directory, so that the next mount does not download them again')
      .option('--allow-other', 'let other users see the mount (needs user_allow_other in /etc/fuse.conf)')
      .addHelpText(
        'after',
        '\nExamples:\n  dtar mount home.index.tar /mnt/backup\n  dtar mount home.index.tar /mnt/backup --keep-chunks --cache-size 1G',
      ),
  ).action(async (index: string, mountpoint: string, flags: MountFlags) => {
    await mountCommand(io, index, mountpoint, flags, process);
  });
  program
    .command('umount')
    .argument('<MOUNTPOINT>', 'where a dtar mount is mounted')
    .description('unmount a dtar mount (the dtar mount process then exits)')
    .action(async (mountpoint: string) => {
      await unmountElsewhere(mountpoint);
    });
}
