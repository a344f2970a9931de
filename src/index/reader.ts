/**
 * Reads an index tar back: dtar's own header and trailer, the original's global headers,
 * and for each original entry its metadata, original header bytes and, where it had a
 * body, the body record. The same byte-exact tar reader as ingest parses it, so anything
 * GNU tar would not list is refused as a damaged index.
 */
import { createHash } from 'node:crypto';
import { BadIndexError, BadTarError } from '../errors';
import { readTar } from '../tar/reader';
import type { TarHeader } from '../tar/types';
import { originalHeaderBytes, originalPadding } from './entry-bytes';
import { IndexMeta, IndexTrailer, parseMeta, parseTrailer } from './meta';
import { BodyRecord, decodeRecord } from './record';

const NO_PADDING = Buffer.alloc(0);

/** Largest body record accepted: about 1.7 million chunks, a file of well over a TiB. */
const MAX_RECORD = 128 * 1024 * 1024;

export interface IndexEntry {
  kind: 'entry';
  /** Position of the entry among the original's entries, from 0. */
  seq: number;
  /** Metadata as the index lists it (path, type, mode, owners, times, link, xattrs). */
  header: TarHeader;
  /** The original's header bytes, before its body. */
  original: Buffer;
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

export async function* readIndex(source: AsyncIterable<Uint8Array>, where = 'index'): AsyncGenerator<IndexItem> {
  let meta: IndexMeta | null = null;
  let seenTrailer = false;
  let seq = 0;
  // Every byte before the trailer, checked against the trailer's checksum.
  const hash = createHash('sha256');
  try {
    for await (const item of readTar(source)) {
      if (item.kind === 'end') break;
      if (seenTrailer) throw new BadIndexError(`${where}: data after the index trailer`);
      if (!meta) {
        hash.update(item.raw);
        meta = item.kind === 'global' ? parseMeta(item.records) : null;
        if (!meta) throw new BadIndexError(`${where}: not a dtar index (no dtar header at its start)`);
        yield { kind: 'meta', meta };
        continue;
      }
      if (item.kind === 'global') {
        const trailer = parseTrailer(item.records, meta.tag);
        if (trailer) {
          if (!hash.digest().equals(trailer.indexSha256)) throw new BadIndexError(`${where} is damaged: its contents do not match the checksum in its trailer`);
          seenTrailer = true;
          yield { kind: 'trailer', trailer };
        } else {
          hash.update(item.raw);
          yield { kind: 'global', raw: item.raw };
        }
        continue;
      }
      hash.update(item.raw);
      if (item.bodySize === 0) {
        yield { kind: 'entry', seq: seq++, header: item.header, original: item.raw, record: null, padding: NO_PADDING };
        continue;
      }
      if (item.bodySize > MAX_RECORD) throw new BadIndexError(`${where}: record of ${item.header.path} is too large`);
      const recordBytes = await item.readBody();
      hash.update(recordBytes).update(item.padding());
      const record = decodeRecord(recordBytes, `${where}: ${item.header.path}`);
      yield {
        kind: 'entry',
        seq: seq++,
        header: item.header,
        original: originalHeaderBytes(item.raw, item.mainHeaderOffset, record.header),
        record,
        padding: originalPadding(record),
      };
    }
  } catch (e) {
    if (e instanceof BadTarError) throw new BadIndexError(`${where} is damaged: ${e.message}`);
    throw e;
  }
  if (!meta) throw new BadIndexError(`${where}: not a dtar index (empty)`);
  if (!seenTrailer) throw new BadIndexError(`${where} is truncated (no trailer): it was not written completely`);
}

/** The logical size of an entry's file contents (sparse files expanded). */
export function contentSize(e: IndexEntry): number {
  return e.record ? (e.record.sparse?.realSize ?? e.record.body.storedSize) : 0;
}
