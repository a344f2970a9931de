/**
 * A tar stream decompressed when it starts with a gzip or zstd magic number (the tar to
 * ingest, and an index written compressed): recognised by its bytes, never by a file name.
 * Other compressions are named in a clear error rather than failing as "not a tar".
 */
import { createGunzip } from 'node:zlib';
import { pipeline, Readable } from 'node:stream';
import { DecompressStream } from 'zstd-napi';
import { BadTarError, DtarError } from '../errors';

export type Compression = 'none' | 'gzip' | 'zstd';

const OTHER: [string, number[]][] = [
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['lz4', [0x04, 0x22, 0x4d, 0x18]],
];

function startsWith(b: Buffer, magic: number[]): boolean {
  return b.length >= magic.length && magic.every((m, i) => b[i] === m);
}

export function detectCompression(head: Buffer): Compression {
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip';
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  for (const [name, magic] of OTHER) {
    if (startsWith(head, magic)) throw new BadTarError(`input is ${name}-compressed; decompress it first (${name} -d), or use gzip or zstd`, 0);
  }
  return 'none';
}

/**
 * Peeks at the first bytes, then yields the (decompressed) stream. `source` may reuse its
 * buffers (see tar/file-bytes.ts): what this keeps past the next read it copies.
 */
export async function* tarInput(source: AsyncIterable<Buffer>, onCompression?: (c: Compression) => void): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headLen = 0;
  let done = false;
  while (headLen < 6) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(Buffer.from(r.value));
    headLen += r.value.length;
  }
  const first = Buffer.concat(head);
  const kind = detectCompression(first);
  onCompression?.(kind);
  /** `copy`: for a decoder, which holds on to its input while it works through it. */
  async function* raw(copy: boolean): AsyncGenerator<Buffer> {
    if (first.length > 0) yield first;
    if (done) return;
    for (let r = await it.next(); !r.done; r = await it.next()) yield copy ? Buffer.from(r.value) : r.value;
  }
  try {
    if (kind === 'none') {
      yield* raw(false);
      return;
    }
    const decoder = kind === 'gzip' ? createGunzip() : new DecompressStream();
    // pipeline() destroys the decoder on a source error, so it surfaces in the loop below.
    pipeline(Readable.from(raw(true)), decoder, () => undefined);
    try {
      for await (const b of decoder as AsyncIterable<Buffer>) yield b;
    } catch (e) {
      // A source's own error (a read that failed, an abort) passes as it is.
      if (e instanceof DtarError || (e as Error).name === 'AbortError') throw e;
      throw new BadTarError(`the ${kind} stream is damaged: ${(e as Error).message}`, 0);
    }
  } finally {
    // Stopped early (a reader that wanted the first entry only): the source is closed now, not when collected.
    await it.return?.();
  }
}
