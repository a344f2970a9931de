/**
 * One entry's body as the reader hands it out: streamed once as slices of the input, skipped if
 * the consumer moves on without reading it, followed by its padding to the block boundary.
 */
import { BadTarError } from '../errors';
import type { ByteSource } from './byte-source';
import { paddingFor } from './header';

/**
 * The state behind one entry's body: what is left of it, and its padding once read. It is
 * itself the body's iterable, so that an entry whose body is never streamed allocates none.
 */
export class EntryBody implements AsyncIterable<Buffer> {
  private remaining: number;
  private paddingBytes: Buffer | undefined;
  private started = false;
  private closed = false;

  constructor(
    private readonly src: ByteSource,
    readonly size: number,
  ) {
    this.remaining = size;
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    if (this.started) throw new Error('a tar entry body can be iterated only once');
    this.started = true;
    return this.stream();
  }

  private async *stream(): AsyncGenerator<Buffer> {
    while (this.remaining > 0) {
      if (this.closed) throw new Error('a tar entry body was read after the reader moved on');
      const piece = await this.src.slice(this.remaining);
      if (!piece) throw new BadTarError('truncated archive: input ends inside an entry body', this.src.offset);
      this.remaining -= piece.length;
      yield piece;
    }
    await this.readPadding();
  }

  /**
   * The whole body in one buffer (one copy), then its padding; without a promise when both
   * are buffered already (an index record nearly always is: that saves two awaits per entry).
   */
  readAll(): Buffer | Promise<Buffer> {
    if (this.started) throw new Error('a tar entry body can be iterated only once');
    this.started = true;
    const bytes = this.src.readBufferedPair(this.remaining, paddingFor(this.size));
    if (!bytes) return this.readAllAsync();
    this.remaining = 0;
    this.paddingBytes = bytes.padding;
    return bytes.body;
  }

  private async readAllAsync(): Promise<Buffer> {
    const start = this.src.offset;
    const bytes = this.src.readBuffered(this.remaining) ?? (await this.src.read(this.remaining));
    this.remaining -= bytes.length;
    if (this.remaining > 0) throw new BadTarError('truncated archive: input ends inside an entry body', start + bytes.length);
    await this.readPadding();
    return bytes;
  }

  private async readPadding(): Promise<void> {
    if (this.paddingBytes) return;
    const length = paddingFor(this.size);
    const start = this.src.offset;
    const bytes = await this.src.readPadding(length);
    if (bytes.length < length) throw new BadTarError('truncated archive: input ends inside the padding after an entry body', start + bytes.length);
    this.paddingBytes = bytes;
  }

  padding(): Buffer {
    if (!this.paddingBytes) throw new Error('tar entry padding() is available only after the body was read or skipped');
    return this.paddingBytes;
  }

  /**
   * Skips what the consumer left unread and reads the padding. Nothing to wait for (undefined)
   * when the consumer read it all, which saves an await per entry.
   */
  finish(): Promise<void> | undefined {
    this.closed = true;
    if (this.remaining === 0 && this.paddingBytes) return undefined;
    return this.skipRest();
  }

  private async skipRest(): Promise<void> {
    if (this.remaining > 0) {
      const start = this.src.offset;
      const skipped = await this.src.skip(this.remaining);
      this.remaining -= skipped;
      if (this.remaining > 0) throw new BadTarError('truncated archive: input ends inside an entry body', start + skipped);
    }
    await this.readPadding();
  }
}
