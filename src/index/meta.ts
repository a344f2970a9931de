/**
 * The index tar's own two PAX global headers: the first record of the index says what it
 * is and which store it belongs to; the last (before the end-of-archive blocks) holds how
 * to rebuild the original tar's end. Both carry their data in the standard `comment`
 * keyword, which tar implementations ignore silently, so `tar tvf INDEX` lists exactly
 * the original's entries.
 */
import { BadIndexError, UnsupportedFormatError } from '../errors';
import { encodeHeader, encodePaxRecords, paddingFor } from '../tar/header';
import { BodyRef, Cursor, decodeChunkList, encodeChunkList } from './record';
import { indexMac, isSealer, MAC_SIZE } from './seal';

/** Version 2 adds the sealer and the trailer's MAC; version 1 indexes are still read (docs/FORMAT.md §7). */
export const INDEX_VERSION = 2;
const META_PREFIX = 'dtar-index ';
const TRAILER_PREFIX = 'dtar-trailer ';

export interface IndexMeta {
  version: number;
  storeId: string;
  /** Store location as given at ingest (a path or an s3:// URL). */
  store: string;
  name: string;
  created: string;
  /** Random per index; the trailer repeats it, so that an ingested index tar's own trailer is not taken for ours. */
  tag: string;
  /** Whose key authenticates the index (version 2): "owner" today. */
  sealer?: string;
}

export interface IndexTrailer {
  /** The original's end: zero blocks, record padding and anything after. */
  tail: BodyRef;
  entries: number;
  /** Sum of the original tar's bytes. */
  tarSize: number;
  /**
   * SHA-256 of every index byte before the trailer's own header. Headers, PAX records and
   * body records are used (and restore copies them out) as they are, so damage anywhere in
   * the index must be found by this before anything read from it is trusted.
   */
  indexSha256: Buffer;
  /** The MAC (version 2) and the trailer bytes before it, which it covers; null in version 1. */
  seal: { mac: Buffer; covered: Buffer } | null;
}

export function globalHeader(name: string, comment: Buffer): Buffer {
  const body = encodePaxRecords([['comment', comment]]);
  const header = encodeHeader({ name, typeflag: 'g', size: body.length, mode: 0o644 });
  return Buffer.concat([header, body, Buffer.alloc(paddingFor(body.length))]);
}

export function encodeMeta(meta: IndexMeta): Buffer {
  return globalHeader('dtar-index', Buffer.from(META_PREFIX + JSON.stringify(meta)));
}

/** The trailer, sealed with `macKey` (the sealer's key: seal.ts). */
export function encodeTrailer(tag: string, t: Omit<IndexTrailer, 'seal'>, macKey: Buffer): Buffer {
  const fixed = Buffer.alloc(8 + 32 + 8 + 8);
  fixed.writeBigUInt64LE(BigInt(t.tail.storedSize), 0);
  t.tail.sha256.copy(fixed, 8);
  fixed.writeBigUInt64LE(BigInt(t.entries), 40);
  fixed.writeBigUInt64LE(BigInt(t.tarSize), 48);
  const covered = Buffer.concat([fixed, encodeChunkList(t.tail.chunks), t.indexSha256]);
  const bin = Buffer.concat([covered, indexMac(macKey, covered)]);
  return globalHeader('dtar-trailer', Buffer.from(`${TRAILER_PREFIX}${tag} ${bin.toString('base64')}`));
}

export function parseMeta(records: ReadonlyMap<string, Buffer>): IndexMeta | null {
  const text = records.size === 1 ? records.get('comment')?.toString('latin1') : undefined;
  if (!text?.startsWith(META_PREFIX)) return null;
  let meta: IndexMeta;
  try {
    meta = JSON.parse(text.slice(META_PREFIX.length)) as IndexMeta;
  } catch {
    throw new BadIndexError('index header is damaged');
  }
  if (meta.version !== 1 && meta.version !== INDEX_VERSION) throw new UnsupportedFormatError('the index', meta.version);
  if (typeof meta.storeId !== 'string' || typeof meta.store !== 'string' || typeof meta.tag !== 'string') throw new BadIndexError('index header is damaged');
  if (meta.version === INDEX_VERSION ? !isSealer(meta.sealer) : meta.sealer !== undefined) throw new BadIndexError('index header is damaged');
  return meta;
}

/** The trailer, when `records` are this index's own (its tag matches); null for the original's. */
export function parseTrailer(records: ReadonlyMap<string, Buffer>, tag: string): IndexTrailer | null {
  const prefix = `${TRAILER_PREFIX}${tag} `;
  const text = records.size === 1 ? records.get('comment')?.toString('latin1') : undefined;
  if (!text?.startsWith(prefix)) return null;
  const c = new Cursor(Buffer.from(text.slice(prefix.length), 'base64'), 'index trailer');
  const storedSize = c.u64();
  const sha256 = c.bytes(32);
  const entries = c.u64();
  const tarSize = c.u64();
  const chunks = decodeChunkList(c);
  const indexSha256 = c.bytes(32);
  // Version 2 ends with the MAC; which version this is, the header says (seal.ts checks they agree).
  const seal = c.pos + MAC_SIZE === c.buf.length ? { covered: c.buf.subarray(0, c.pos), mac: c.bytes(MAC_SIZE) } : null;
  if (c.pos !== c.buf.length) throw new BadIndexError('index trailer: trailing bytes');
  return { tail: { storedSize, sha256, chunks }, entries, tarSize, indexSha256, seal };
}
