/**
 * An index file's bytes, as readIndex consumes them: read through two reused buffers (see
 * tar/file-bytes.ts), and decompressed when the file is a compressed index (zstd or gzip,
 * told by its first bytes: docs/FORMAT.md). readIndex keeps copies of everything it hands
 * out, so it is the consumer these pieces are for.
 */
import { constants } from 'node:fs';
import { FileHandle, open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { constants as zlibConstants, gzip as gzipCallback } from 'node:zlib';
import { Compressor } from 'zstd-napi';
import { UsageError } from '../errors';
import { TempFile, tempFileFor } from '../fs/output-file';
import { tarInput } from '../tar/compression';
import { fileBytes, FileBytesOptions } from '../tar/file-bytes';
import { IndexTrailer, parseTrailer } from './meta';

const gzip = promisify(gzipCallback);

/**
 * Opens an index file. A pipe or other stream is refused up front: commands read an index more
 * than once (its header first, then the whole), and a second read of a pipe finds it drained,
 * which used to be reported as a damaged index. O_NONBLOCK: opening a FIFO must not wait for a writer.
 */
async function openIndexFile(path: string): Promise<FileHandle> {
  const file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  if ((await file.stat()).isFile()) return file;
  await file.close();
  throw new UsageError(`${path} is not a regular file: dtar reads an index more than once, so save it to a file first`);
}

export async function* indexFileBytes(path: string, options: FileBytesOptions = {}): AsyncGenerator<Buffer> {
  yield* tarInput(fileBytes(await openIndexFile(path), options));
}

export type IndexCompression = 'zstd' | 'gzip';

/** The compression an index written to `path` gets: by its name, `.zst` or `.gz` (what `tar tvf` and users expect). */
export function indexCompressionFor(path: string): IndexCompression | null {
  return /\.(zst|zstd|tzst)$/i.test(path) ? 'zstd' : /\.(gz|tgz)$/i.test(path) ? 'gzip' : null;
}

/**
 * Writes index file `from` compressed to `to`, 4 MiB at a time, each piece one zstd frame
 * (level 3, with its checksum, so that damage to the file is named as such) or one gzip
 * member (level 1): a stream of several is one file to zstd, gzip, GNU tar and bsdtar. Done
 * in whole pieces rather than through a stream of small writes, it costs about a third of
 * the CPU time. For gzip, one output buffer the size of the piece (zlib's default, 16 KiB,
 * makes a trip between threads per 16 KiB) and zlib's largest hash memory cost less CPU than
 * the defaults, for the same format and a slightly smaller file. Figures: bench/README.md,
 * "Compressed index files".
 */
export async function compressIndexFile(from: string, to: FileHandle, compression: IndexCompression): Promise<void> {
  const zstd = compression === 'zstd' ? new Compressor() : null;
  zstd?.setParameters({ compressionLevel: 3, checksumFlag: true });
  for await (const piece of fileBytes(await open(from, 'r'), { pieceBytes: 4 * 1024 * 1024 })) {
    await to.write(zstd ? zstd.compress(piece) : await gzip(piece, { level: 1, memLevel: 9, chunkSize: Math.max(piece.length, zlibConstants.Z_MIN_CHUNK) }));
  }
}

/** How far from its end the trailer is looked for: room for a tail of hundreds of chunks. */
const TRAILER_SEARCH = 64 * 1024;

/**
 * The trailer of index file `path`, read from the file's end without loading the rest; null
 * when it is not found there (as in a compressed index). Unchecked: the trailer's checksum covers the whole index, which
 * only a load verifies, and its MAC (version 2) says only that the store's key sealed it.
 */
export async function readTrailerAtEnd(path: string, tag: string): Promise<{ trailer: IndexTrailer; fileSize: number } | null> {
  const file = await openIndexFile(path).catch(() => null);
  if (!file) return null;
  try {
    const size = (await file.stat()).size;
    const length = Math.min(size, TRAILER_SEARCH);
    const buf = Buffer.allocUnsafe(length);
    const tail = buf.subarray(0, (await file.read(buf, 0, length, size - length)).bytesRead);
    // The trailer's PAX record: "<length> comment=dtar-trailer <tag> <base64>\n".
    const key = Buffer.from(`comment=dtar-trailer ${tag} `, 'latin1');
    const at = tail.lastIndexOf(key);
    const end = at < 0 ? -1 : tail.indexOf(0x0a, at);
    if (end < 0) return null;
    const trailer = parseTrailer(new Map([['comment', tail.subarray(at + 'comment='.length, end)]]), tag);
    return trailer && { trailer, fileSize: size };
  } catch {
    return null;
  } finally {
    await file.close();
  }
}

/** The trailer's entry count, for sizing tables ahead: bounded by what the file could hold (an entry takes a 512-byte header at least). */
export function plausibleEntryCount(found: { trailer: IndexTrailer; fileSize: number } | null): number | undefined {
  return found && Number.isSafeInteger(found.trailer.entries) ? Math.min(found.trailer.entries, Math.floor(found.fileSize / 512)) : undefined;
}

/**
 * Where an index goes when it is to be compressed: `plain` (the plain index, which the stored
 * copy is made from) stands in for `output` until published. Once the index is complete
 * (complete()) it is compressed into a temporary file beside `output`, while the stored copy
 * uploads; publishing renames that into place and drops `plain`.
 */
export function compressedIndexOutput(plain: TempFile, output: string, compression: IndexCompression): TempFile & { complete(): Promise<void> } {
  let compressed: Promise<TempFile> | null = null;
  const start = (): Promise<TempFile> =>
    (compressed ??= (async () => {
      const tmp = await tempFileFor(output);
      try {
        await compressIndexFile(plain.path, tmp.handle, compression);
        return tmp;
      } catch (e) {
        await tmp.discard();
        throw e;
      }
    })());
  return {
    ...plain,
    complete: () => start().then(() => undefined),
    async publish() {
      await (await start()).publish();
      await plain.discard();
    },
    async discard() {
      await plain.discard();
      await (await compressed?.catch(() => null))?.discard();
    },
  };
}
