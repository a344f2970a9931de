/**
 * Reads an index tar back: dtar's own header and trailer, the original's global headers,
 * and for each original entry its metadata, original header bytes and, where it had a
 * body, the body record. The same byte-exact tar reader as ingest parses it, so anything
 * GNU tar would not list is refused as a damaged index. This is where every index is
 * checked: its checksum (damage) and its MAC (a rewrite without the key) when the trailer
 * is reached, so a caller acts on nothing before it has read the index to its end.
 */
import { createHash } from 'node:crypto';
import { BadIndexError, BadTarError, escapeName } from '../errors';
import { Pullable, pulled, visitAll } from '../tar/pull';
import { TarWalker } from '../tar/reader';
import type { TarEntry, TarHeader, TarItem } from '../tar/types';
import { originalHeaderBytes, originalPadding } from './entry-bytes';
import { IndexMeta, IndexTrailer, parseMeta, parseTrailer } from './meta';
import { BodyRecord, ChunkRef, decodeRecord } from './record';
import { authenticate, IndexAuth } from './seal';

const NO_PADDING = Buffer.alloc(0);

/** Largest body record accepted: about 1.7 million chunks, a file of well over a TiB. */
const MAX_RECORD = 128 * 1024 * 1024;

export interface IndexEntry {
  kind: 'entry';
  /** Position of the entry among the original's entries, from 0. */
  seq: number;
  /** Metadata as the index lists it (path, type, mode, owners, times, link, xattrs). */
  header: TarHeader;
  /** The original's header bytes, before its body (built on demand: only restore needs them). */
  original(): Buffer;
  /** Present when the original entry had a body. */
  record: BodyRecord | null;
  /** The original's padding after the body. */
  padding: Buffer;
}

export type IndexItem =
  | { kind: 'meta'; meta: IndexMeta }
  | { kind: 'global'; raw: Buffer }
  | IndexEntry
  | { kind: 'trailer'; trailer: IndexTrailer };

/** An index entry read from its tar entry: one object, its original header bytes made only when asked for. */
class DecodedEntry implements IndexEntry {
  readonly kind = 'entry' as const;
  readonly header: TarHeader;
  readonly padding: Buffer;
  private readonly raw: Buffer;
  private readonly mainHeaderOffset: number;

  constructor(
    readonly seq: number,
    item: TarEntry,
    readonly record: BodyRecord | null,
  ) {
    this.header = item.header;
    this.raw = item.raw;
    this.mainHeaderOffset = item.mainHeaderOffset;
    this.padding = record ? originalPadding(record) : NO_PADDING;
  }

  original(): Buffer {
    return this.record ? originalHeaderBytes(this.raw, this.mainHeaderOffset, this.record.header) : this.raw;
  }
}

/** Turns the tar reader's items into index items, checking the index's framing and checksum. */
class IndexDecoder {
  private meta: IndexMeta | null = null;
  private seenTrailer = false;
  private seq = 0;
  /** Every byte before the trailer, checked against the trailer's checksum. */
  private readonly hash = createHash('sha256');
  /** The entry whose record is being decoded, and what errors about its record call it: one function, not one per entry. */
  private current: TarEntry | null = null;
  private readonly recordPlace = (): string => `${this.where}: ${this.current ? escapeName(this.current.header.pathBytes) : 'record'}`;

  /** `auth` null: the caller authenticates the meta and trailer itself (loadArchive). */
  constructor(
    private readonly where: string,
    private readonly auth: IndexAuth | null,
    /** The input since an offset, when still buffered (TarWalker.readSince). */
    private readonly readSince: (offset: number) => Buffer | null,
  ) {}

  /** The index item of a tar item; null at the end of the tar. A promise only when the record was not buffered yet. */
  decode(item: TarItem): IndexItem | null | Promise<IndexItem> {
    const where = this.where;
    if (item.kind === 'end') return null;
    if (this.seenTrailer) throw new BadIndexError(`${where}: data after the index trailer`);
    if (!this.meta) {
      this.hash.update(item.raw);
      this.meta = item.kind === 'global' ? parseMeta(item.records) : null;
      if (!this.meta) throw new BadIndexError(`${where}: not a dtar index (no dtar header at its start)`);
      return { kind: 'meta', meta: this.meta };
    }
    if (item.kind === 'global') {
      const trailer = parseTrailer(item.records, this.meta.tag);
      if (!trailer) {
        this.hash.update(item.raw);
        return { kind: 'global', raw: item.raw };
      }
      if (!this.hash.digest().equals(trailer.indexSha256)) throw new BadIndexError(`${where} is damaged: its contents do not match the checksum in its trailer`);
      if (this.auth) authenticate(this.meta, trailer, this.auth, where);
      this.seenTrailer = true;
      return { kind: 'trailer', trailer };
    }
    if (item.bodySize === 0) {
      this.hash.update(item.raw);
      return new DecodedEntry(this.seq++, item, null);
    }
    if (item.bodySize > MAX_RECORD) throw new BadIndexError(`${where}: record of ${escapeName(item.header.pathBytes)} is too large`);
    const recordBytes = item.readBody();
    return recordBytes instanceof Promise ? recordBytes.then((b) => this.entry(item, b)) : this.entry(item, recordBytes);
  }

  private entry(item: TarEntry, recordBytes: Buffer): IndexEntry {
    // The entry's bytes in one piece when they are (nearly always): three hash calls per entry
    // were a quarter of the hash's cost.
    const whole = this.readSince(item.offset);
    if (whole) this.hash.update(whole);
    else this.hash.update(item.raw).update(recordBytes).update(item.padding());
    this.current = item;
    return new DecodedEntry(this.seq++, item, decodeRecord(recordBytes, this.recordPlace));
  }

  /** Throws unless the index was whole: a dtar header first and a trailer last. */
  end(): void {
    if (!this.meta) throw new BadIndexError(`${this.where}: not a dtar index (empty)`);
    if (!this.seenTrailer) throw new BadIndexError(`${this.where} is truncated (no trailer): it was not written completely`);
  }
}

/** Index items pulled one by one from a tar walker; no promise while the bytes are buffered. */
class IndexItems implements Pullable<IndexItem> {
  private readonly walker: TarWalker;
  private readonly decoder: IndexDecoder;

  constructor(source: AsyncIterable<Uint8Array>, private readonly where: string, auth: IndexAuth | null) {
    this.walker = new TarWalker(source);
    this.decoder = new IndexDecoder(where, auth, (offset) => this.walker.readSince(offset));
  }

  /** The next item; null after the trailer and the end, once the index was checked whole. */
  next(): IndexItem | null | Promise<IndexItem | null> {
    try {
      const t = this.walker.next();
      const item = t instanceof Promise ? t.then((x) => this.decoded(x)) : this.decoded(t);
      return item instanceof Promise ? item.catch((e: unknown) => Promise.reject(this.damaged(e))) : item;
    } catch (e) {
      throw this.damaged(e);
    }
  }

  private decoded(t: TarItem | null): IndexItem | null | Promise<IndexItem> {
    const item = t && this.decoder.decode(t);
    if (!item) this.decoder.end();
    return item;
  }

  close(): Promise<void> {
    return this.walker.close();
  }

  /** A tar-level error is a damaged index, named as such. */
  private damaged(e: unknown): unknown {
    return e instanceof BadTarError ? new BadIndexError(`${this.where} is damaged: ${e.message}`) : e;
  }
}

/**
 * An index to read, as often as a reader needs: its bytes from the start on every open(),
 * what messages call it, and how it is authenticated (src/index-source gives one for a local
 * file or a stored copy).
 */
export interface IndexInput {
  where: string;
  open(): AsyncIterable<Uint8Array>;
  auth: IndexAuth;
}

/** The items of an index, checked against `auth` (its store's) at the end. */
export function readIndex(source: AsyncIterable<Uint8Array>, where: string, auth: IndexAuth): AsyncGenerator<IndexItem> {
  return pulled(() => new IndexItems(source, where, auth));
}

/**
 * Only the header of an index, which says which store it belongs to: unauthenticated (the
 * store's key is needed for that, and the header says where the store is), so it serves to
 * open the store and nothing else.
 */
export async function readIndexHeader(source: AsyncIterable<Uint8Array>, where: string): Promise<IndexMeta> {
  const items = new IndexItems(source, where, null);
  try {
    const first = await items.next();
    if (first?.kind !== 'meta') throw new BadIndexError(`${where}: not a dtar index`);
    return first.meta;
  } finally {
    await items.close();
  }
}

/** readIndex item by item, with no promise while the bytes are buffered (see Pullable); close() it when done. */
export function pullIndex(source: AsyncIterable<Uint8Array>, where: string, auth: IndexAuth): Pullable<IndexItem> {
  return new IndexItems(source, where, auth);
}

/**
 * readIndex for a consumer that takes every item as it comes: no async generator between the
 * tar reader and the consumer, so a buffered piece of the index is read with no await at all
 * (each generator level slowed loading an index: bench/README.md).
 */
export function visitIndex(source: AsyncIterable<Uint8Array>, where: string, auth: IndexAuth | null, visit: (item: IndexItem) => void): Promise<void> {
  return visitAll(new IndexItems(source, where, auth), visit);
}

/** The logical size of an entry's file contents (sparse files expanded). */
export function contentSize(e: IndexEntry): number {
  return e.record ? (e.record.sparse?.realSize ?? e.record.body.storedSize) : 0;
}

const NO_CHUNKS: readonly ChunkRef[] = [];

/** The chunks an item references: an entry's body, or the archive's tail in the trailer. */
export function chunkRefs(item: IndexItem): readonly ChunkRef[] {
  if (item.kind === 'entry') return item.record?.body.chunks ?? NO_CHUNKS;
  if (item.kind === 'trailer') return item.trailer.tail.chunks;
  return NO_CHUNKS;
}
