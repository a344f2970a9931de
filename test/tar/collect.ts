/**
 * Test support for the tar reader: feeding an archive in chunks of a chosen size, and reading
 * it into a comparable summary plus the reassembled bytes (raw + body + padding, global, tail).
 */
import { createHash } from 'node:crypto';
import { readTar } from '../../src/tar/reader';
import type { TarHeader, TarReaderLimits } from '../../src/tar/types';

export async function* chunked(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

/** Chunks whose sizes cycle through `sizes`. */
export async function* chunkedCycle(data: Buffer, sizes: number[]): AsyncGenerator<Uint8Array> {
  let i = 0;
  for (let n = 0; i < data.length; n++) {
    const size = sizes[n % sizes.length] ?? 1;
    yield data.subarray(i, i + size);
    i += size;
  }
}

export interface ItemSummary {
  kind: string;
  offset: number;
  raw?: string;
  header?: TarHeader;
  bodySize?: number;
  bodySha256?: string;
  padding?: string;
  tailSha256?: string;
}

export interface ReadResult {
  items: ItemSummary[];
  /** Every byte the reader handed out, in order: must equal the input. */
  reassembled: Buffer;
  /** Entry bodies by item index, kept only when asked for. */
  bodies: Map<number, Buffer>;
}

/** Reads a whole archive; `keepBodies` keeps body bytes (for content checks against the tree). */
export async function readAll(
  source: AsyncIterable<Uint8Array>,
  options: { keepBodies?: boolean; limits?: Partial<TarReaderLimits> } = {},
): Promise<ReadResult> {
  const items: ItemSummary[] = [];
  const parts: Buffer[] = [];
  const bodies = new Map<number, Buffer>();
  for await (const item of readTar(source, options.limits)) {
    if (item.kind === 'entry') {
      parts.push(item.raw);
      const hash = createHash('sha256');
      const pieces: Buffer[] = [];
      let length = 0;
      for await (const piece of item.body) {
        hash.update(piece);
        // Pieces are slices of the input; nothing here changes them, so no copies.
        parts.push(piece);
        if (options.keepBodies) pieces.push(piece);
        length += piece.length;
      }
      if (length !== item.bodySize) throw new Error(`body of ${item.header.path} gave ${length} bytes, bodySize says ${item.bodySize}`);
      parts.push(item.padding());
      if (options.keepBodies) bodies.set(items.length, Buffer.concat(pieces));
      items.push({
        kind: item.kind,
        offset: item.offset,
        raw: item.raw.toString('hex'),
        header: item.header,
        bodySize: item.bodySize,
        bodySha256: hash.digest('hex'),
        padding: item.padding().toString('hex'),
      });
    } else if (item.kind === 'global') {
      parts.push(item.raw);
      items.push({ kind: item.kind, offset: item.offset, raw: item.raw.toString('hex') });
    } else {
      const hash = createHash('sha256');
      for await (const piece of item.tail) {
        hash.update(piece);
        parts.push(piece);
      }
      items.push({ kind: item.kind, offset: item.offset, tailSha256: hash.digest('hex') });
    }
  }
  return { items, reassembled: Buffer.concat(parts), bodies };
}
