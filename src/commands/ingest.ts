/**
 * `dtar ingest [FILE] [-o INDEX]`: store a tar stream, write its index. The index is
 * published only after every brick, catalogue segment and the stored index copy are durable.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { jsonText, UsageError } from '../errors';
import { encodeIndexCopy, newIndexCopyKey } from '../index/copy';
import { ingestTar, IngestResult } from '../ingest/ingest';
import { StoreLock } from '../repo/lock';
import { tarInput } from '../ingest/input';
import type { StorageClass } from '../store/backend';
import { STORAGE_CLASSES } from '../store/backend';
import { fileBytes } from '../tar/file-bytes';
import { Io, openRepository, StoreFlags, storeLocation } from './context';
import { isSpecialFile, tempFileFor } from './output-file';
import { formatBytes, parseIntOption } from './format';
import { addStoreOptions } from './options';
import { writeTo } from './stdout';

interface IngestFlags extends StoreFlags {
  output?: string;
  name?: string;
  level: number;
  storageClass?: string;
  quiet?: boolean;
  json?: boolean;
}

export async function ingestCommand(io: Io, file: string | undefined, flags: IngestFlags): Promise<IngestResult & { index: string | null }> {
  if (!flags.output && io.stdoutIsTTY) throw new UsageError('refusing to write the index to a terminal: give -o INDEX or redirect stdout');
  // Else it would wait for a tar typed in (after asking for the passphrase): say what it wants instead.
  if (!file && io.stdinIsTTY) throw new UsageError('no tar on standard input (it is a terminal): pipe one in, as in tar c DIR | dtar ingest, or name a tar file');
  const storageClass = flags.storageClass?.toUpperCase() as StorageClass | undefined;
  if (storageClass && !STORAGE_CLASSES.includes(storageClass)) throw new UsageError(`unknown storage class ${flags.storageClass}; one of ${STORAGE_CLASSES.join(', ')}`);
  if (!(flags.level >= 0 && flags.level <= 19)) throw new UsageError('--level must be between 0 (no compression) and 19');
  const location = storeLocation(io, flags);
  const repo = await openRepository(io, flags);
  const input = file ? await open(file, 'r') : null;
  if (input && (await input.stat()).isDirectory()) {
    await input.close();
    throw new UsageError(`${file} is a directory, not a tar file (to back it up: tar c ${file} | dtar ingest)`);
  }
  const source = input ? fileBytes(input) : (io.stdin as AsyncIterable<Buffer>);
  // The index is read back for its stored copy: to a device or FIFO it goes, like standard
  // output, from a temporary file once complete.
  const special = flags.output !== undefined && (await isSpecialFile(flags.output));
  const tmp = await tempFileFor(special ? null : (flags.output ?? null)).catch(async (e: unknown) => {
    await input?.close();
    throw e;
  });
  const progress = flags.quiet ? null : io.progress('ingest');
  // Held from before the catalogue loads until the index copy is stored: no prune meanwhile (src/repo/lock.ts).
  let lock: StoreLock | null = null;
  try {
    lock = await StoreLock.take(repo.backend, 'shared', { command: 'ingest' });
    const name = flags.name ?? (file ? basename(file) : 'stdin');
    const result = await ingestTar(repo, tarInput(source), tmp.handle, {
      name,
      storeLocation: location,
      level: flags.level,
      storageClass,
      // Locally one brick is written while the next fills: a second write in flight was no
      // faster, and each brick in flight holds its 37 MiB buffer.
      maxUploads: location.startsWith('s3://') ? 4 : 1,
      onProgress: (p) => progress?.update(p.bytesIn, null, `${p.entries} entries, ${formatBytes(p.storedBytes)} stored`),
    });
    progress?.done();
    // GNU tar refuses an empty input too; in `ssh host tar c / | dtar ingest` it means the
    // producer failed, and a backup of nothing must not pass for a success.
    if (result.tarSize === 0) throw new UsageError('the input is empty: no tar stream came in, and nothing was backed up');
    const created = new Date();
    const copyMeta = { name, created: created.toISOString(), indexSize: result.indexSize, entries: result.entries, tarSize: result.tarSize, tag: result.tag };
    await lock.check();
    // A function body, so that a retried upload reads the index again from the start.
    const copyKey = newIndexCopyKey(created);
    await repo.backend.put(copyKey, () => encodeIndexCopy(repo.keys.data, copyMeta, createReadStream(tmp.path)));
    try {
      await lock.check();
    } catch (e) {
      // A prune may have started without seeing this copy: it must not name bricks it deleted.
      await repo.backend.delete(copyKey);
      throw e;
    }
    await tmp.publish();
    await lock.release();
    lock = null;
    if (special) await pipeline(createReadStream(tmp.path), createWriteStream(flags.output!));
    else if (!flags.output) await writeTo(io.stdout, createReadStream(tmp.path));
    if (special || !flags.output) await tmp.discard();
    return { ...result, index: flags.output ?? null };
  } catch (e) {
    progress?.done();
    // Bad input stops the reader midway: close the file now, not when the reader is collected.
    await input?.close().catch(() => undefined);
    await tmp.discard();
    await lock?.release().catch(() => undefined);
    throw e;
  }
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('ingest')
      .argument('[FILE]', 'tar file to read (default: standard input); gzip and zstd are recognised')
      .description('store a tar stream in the store and write its index tar')
      .option('-o, --output <INDEX>', 'write the index tar here (default: standard output)')
      .option('--name <NAME>', 'a name for this backup, shown by `dtar archives`')
      .option('--level <N>', 'zstd compression level, 0 for none', parseIntOption('--level'), 3)
      .option('--storage-class <CLASS>', `S3 storage class of the bricks: ${STORAGE_CLASSES.join(', ')}`)
      .addHelpText('after', '\nExamples:\n  tar c /home | dtar ingest -o home.index.tar\n  dtar ingest backup.tar.gz --name nightly -o nightly.index.tar\n  tar c /srv | dtar ingest --store s3://bucket/backups --storage-class DEEP_ARCHIVE > srv.index.tar'),
  ).action(async (file: string | undefined, flags: IngestFlags) => {
    const r = await ingestCommand(io, file, flags);
    const summary = {
      entries: r.entries,
      tarBytes: r.tarSize,
      chunks: r.chunks,
      newChunks: r.newChunks,
      newBytes: r.newBytes,
      bricks: r.bricks,
      storedBytes: r.storedBytes,
      indexBytes: r.indexSize,
      index: r.index,
    };
    if (flags.json) io.stderr.write(jsonText(summary) + '\n');
    else if (!flags.quiet) {
      io.stderr.write(
        `ingested ${r.entries} entries, ${formatBytes(r.tarSize)}: ${r.newChunks} of ${r.chunks} chunks new (${formatBytes(r.newBytes)}), ` +
          `${formatBytes(r.storedBytes)} stored in ${r.bricks} bricks; index ${formatBytes(r.indexSize)}${r.index ? ` in ${r.index}` : ''}\n`,
      );
    }
  });
}
