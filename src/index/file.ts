/**
 * An index file's bytes, as readIndex consumes them. Two buffers take turns: the next read
 * runs while the current piece is parsed, and no fresh memory is touched per piece. With a
 * new buffer per piece, a 100 MB index cost 25,000 page faults, a fifth of a mount's start.
 *
 * Each piece is valid only until the next one is asked for. readIndex keeps copies of
 * everything it hands out, so it is the consumer these pieces are for.
 */
import { constants } from 'node:fs';
import { FileHandle, open } from 'node:fs/promises';
import { UsageError } from '../errors';

const PIECE_BYTES = 1024 * 1024;

export interface IndexFileOptions {
  /** Stops the reading: the iteration ends with the signal's reason. */
  signal?: AbortSignal;
  /** Bytes per piece (default 1 MiB). */
  pieceBytes?: number;
}

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

export async function* indexFileBytes(path: string, options: IndexFileOptions = {}): AsyncGenerator<Buffer> {
  const size = options.pieceBytes ?? PIECE_BYTES;
  const file = await openIndexFile(path);
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let turn = 0;
  let reading = file.read(buffers[turn]!, 0, size, null);
  try {
    for (;;) {
      const { bytesRead, buffer } = await reading;
      options.signal?.throwIfAborted();
      if (bytesRead === 0) return;
      turn ^= 1;
      reading = file.read(buffers[turn]!, 0, size, null);
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await reading.catch(() => undefined);
    await file.close();
  }
}
