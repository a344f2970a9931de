/**
 * A tar file's bytes, as the tar reader consumes them. Two buffers take turns: the next read
 * runs while the current piece is parsed, and no fresh memory is touched per piece: a new
 * buffer per piece made page faults a large part of a mount's start, and left an ingest's
 * input thread garbage between collections (bench/README.md).
 *
 * Each piece is valid only until the next one is asked for: the consumer copies what it
 * keeps (the tar reader copies headers and padding; bodies are the consumer's to copy).
 */
import type { FileHandle } from 'node:fs/promises';

const PIECE_BYTES = 1024 * 1024;

export interface FileBytesOptions {
  /** Stops the reading: the iteration ends with the signal's reason. */
  signal?: AbortSignal;
  /** Bytes per piece (default 1 MiB). */
  pieceBytes?: number;
}

/** Reads `file` from its current position to its end; closes it when done or abandoned. */
export async function* fileBytes(file: FileHandle, options: FileBytesOptions = {}): AsyncGenerator<Buffer> {
  const size = options.pieceBytes ?? PIECE_BYTES;
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
