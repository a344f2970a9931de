/**
 * `dtar ingest [FILE] [-o INDEX]`: store a tar stream, write its index (src/ingest owns the
 * order in which everything becomes durable). With a writer key (--key-file, DTAR_KEY_FILE)
 * instead of the passphrase, everything it writes is sealed to the store's public key.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { open, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { jsonText, UsageError } from '../errors';
import { ingestTar, IngestResult } from '../ingest/ingest';
import { tarInput } from '../tar/compression';
import { compressedIndexOutput, indexCompressionFor } from '../index/file';
import { IngestTarget, ownerTarget, writerTarget } from '../ingest/target';
import { parseWriterKey } from '../repo/writer-key';
import type { StorageClass } from '../store/backend';
import { STORAGE_CLASSES } from '../store/backend';
import { fileBytes } from '../tar/file-bytes';
import { backendFor, cacheRoot, Io, openRepository, StoreFlags, storeLocation, warner } from './context';
import { isSpecialFile, tempFileFor } from '../fs/output-file';
import { formatBytes, parseIntOption } from './format';
import { addStoreOptions } from './options';
import { writeTo } from './stdout';

interface IngestFlags extends StoreFlags {
  output?: string;
  keyFile?: string;
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
  const { target, location } = await openTarget(io, flags);
  try {
    return await ingestInto(io, file, flags, target, location, storageClass);
  } catch (e) {
    await target.lock.release(false);
    throw e;
  }
}

async function ingestInto(io: Io, file: string | undefined, flags: IngestFlags, target: IngestTarget, location: string, storageClass: StorageClass | undefined): Promise<IngestResult & { index: string | null }> {
  const input = file ? await open(file, 'r') : null;
  if (input && (await input.stat()).isDirectory()) {
    await input.close();
    throw new UsageError(`${file} is a directory, not a tar file (to back it up: tar c ${file} | dtar ingest)`);
  }
  const source = input ? fileBytes(input) : (io.stdin as AsyncIterable<Buffer>);
  // The index is read back for its stored copy: to a device or FIFO it goes, like standard
  // output, from a temporary file once complete.
  const special = flags.output !== undefined && (await isSpecialFile(flags.output));
  // -o FILE.zst, FILE.gz: the index compressed (the stored copy is compressed anyway).
  const compression = flags.output !== undefined && !special ? indexCompressionFor(flags.output) : null;
  const tmp = await tempFileFor(special ? null : (flags.output ?? null)).catch(async (e: unknown) => {
    await input?.close();
    throw e;
  });
  const out = compression ? compressedIndexOutput(tmp, flags.output!, compression) : tmp;
  const progress = flags.quiet ? null : io.progress('ingest');
  try {
    const name = flags.name ?? (file ? basename(file) : 'stdin');
    const result = await ingestTar(target, tarInput(source), out, {
      name,
      storeLocation: location,
      level: flags.level,
      storageClass,
      onProgress: (p) => progress?.update(p.bytesIn, null, `${p.entries} entries, ${formatBytes(p.storedBytes)} stored`),
    });
    progress?.done();
    if (special) await pipeline(createReadStream(tmp.path), createWriteStream(flags.output!));
    else if (!flags.output) await writeTo(io.stdout, createReadStream(tmp.path));
    if (special || !flags.output) await tmp.discard();
    return { ...result, index: flags.output ?? null };
  } catch (e) {
    progress?.done();
    // Bad input stops the reader midway: close the file now, not when the reader is collected.
    await input?.close().catch(() => undefined);
    await out.discard();
    throw e;
  }
}

/** The store to ingest into: with the writer key given, or else with the passphrase. */
async function openTarget(io: Io, flags: IngestFlags): Promise<{ target: IngestTarget; location: string }> {
  const keyFile = flags.keyFile ?? io.env.DTAR_KEY_FILE;
  if (!keyFile) return { target: await ownerTarget(await openRepository(io, flags)), location: storeLocation(io, flags) };
  const bytes = await readFile(keyFile).catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read writer key ${keyFile}: ${e.code ?? 'error'}`);
  });
  const key = parseWriterKey(bytes, keyFile);
  const location = storeLocation(io, flags, key.store);
  return { target: await writerTarget(backendFor(io, flags, key.store), key, cacheRoot(io, flags), warner(io)), location };
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('ingest')
      .argument('[FILE]', 'tar file to read (default: standard input); gzip and zstd are recognised')
      .description('store a tar stream in the store and write its index tar')
      .option('-o, --output <INDEX>', 'write the index tar here (default: standard output); compressed when INDEX ends in .zst or .gz')
      .option('--name <NAME>', 'a name for this backup, shown by `dtar archives`')
      .option('--level <N>', 'zstd compression level, 0 for none', parseIntOption('--level'), 3)
      .option('--storage-class <CLASS>', `S3 storage class of the bricks: ${STORAGE_CLASSES.join(', ')}`)
      .option('--key-file <FILE>', 'ingest with this writer key (dtar key export-writer) instead of the passphrase; also DTAR_KEY_FILE')
      .addHelpText('after', '\nExamples:\n  tar c /home | dtar ingest -o home.index.tar\n  dtar ingest backup.tar.gz --name nightly -o nightly.index.tar\n  tar c /srv | dtar ingest --store s3://bucket/backups --storage-class DEEP_ARCHIVE > srv.index.tar\n  tar c /home | dtar ingest --key-file backup-host.writer.key -o home.index.tar'),
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
