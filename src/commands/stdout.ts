/** Writing to a stream with backpressure, ending cleanly when the reader goes away (EPIPE). */
import type { Writable } from 'node:stream';

export function writeChunk(out: Writable, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    out.once('error', onError);
    const ok = out.write(data, (e) => {
      out.off('error', onError);
      if (e) reject(e);
      else if (ok) resolve();
    });
    if (!ok) out.once('drain', () => resolve());
  });
}

export async function writeTo(out: Writable, source: AsyncIterable<Buffer>): Promise<void> {
  for await (const b of source) await writeChunk(out, b);
}

/** Writes pieces as one batch (corked: the stream hands them on together), with backpressure. */
export async function writePieces(out: Writable, pieces: readonly Buffer[]): Promise<void> {
  if (pieces.length === 0) return;
  out.cork();
  const last = pieces.length - 1;
  for (let i = 0; i < last; i++) out.write(pieces[i]!);
  const done = writeChunk(out, pieces[last]!);
  process.nextTick(() => out.uncork());
  await done;
}
