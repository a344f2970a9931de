/**
 * An index file's bytes, as readIndex consumes them: read through two reused buffers (see
 * tar/file-bytes.ts). readIndex keeps copies of everything it hands out, so it is the
 * consumer these pieces are for.
 */
import { constants } from 'node:fs';
import { FileHandle, open } from 'node:fs/promises';
import { UsageError } from '../errors';
import { fileBytes, FileBytesOptions } from '../tar/file-bytes';

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
