/**
 * An index file's bytes, as readIndex consumes them: read through two reused buffers (see
 * tar/file-bytes.ts). readIndex keeps copies of everything it hands out, so it is the
 * consumer these pieces are for.
 */
import { constants } from 'node:fs';
import { FileHandle, open } from 'node:fs/promises';
import { UsageError } from '../errors';
import { fileBytes, FileBytesOptions } from '../tar/file-bytes';
import { IndexTrailer, parseTrailer } from './meta';

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
  yield* fileBytes(await openIndexFile(path), options);
}

/** How far from its end the trailer is looked for: room for a tail of hundreds of chunks. */
const TRAILER_SEARCH = 64 * 1024;

/**
 * The trailer of index file `path`, read from the file's end without loading the rest; null
 * when it is not found there. Unchecked: the trailer's checksum covers the whole index, which
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
