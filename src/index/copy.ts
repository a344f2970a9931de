/**
 * Sealed copies of index tars kept in the store (`indexes/<id>`), so that the passphrase
 * and the store suffice to recover everything after the local index is lost. Streamed in
 * segments so that memory stays bounded whatever the index size:
 *   "DTIDX1\0\0" | u32le metaLength | sealed(meta JSON)
 *   | segments: u32le length | sealed(zstd(plaintext segment)), AAD = label | u64le seq | u8 last
 */
import { randomBytes } from 'node:crypto';
import * as zstd from 'zstd-napi';
import { open, seal } from '../crypto/aead';
import { BadIndexError, CorruptDataError, magicVersion } from '../errors';

export const INDEXES_PREFIX = 'indexes/';
const MAGIC = Buffer.from('DTIDX1\0\0');
const META_AAD = Buffer.from('dtar-index-copy-meta-v1');
const SEGMENT_LABEL = 'dtar-index-copy-v1';
const SEGMENT_SIZE = 4 * 1024 * 1024;
const MAX_SEALED_SEGMENT = 2 * SEGMENT_SIZE;

export interface IndexCopyMeta {
  name: string;
  created: string;
  /** Bytes of the index tar. */
  indexSize: number;
  entries: number;
  /** Bytes of the original tar. */
  tarSize: number;
}

export function newIndexCopyKey(created: Date): string {
  return `${INDEXES_PREFIX}${created.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(6).toString('hex')}`;
}

function segmentAad(seq: number, last: boolean): Buffer {
  const b = Buffer.alloc(SEGMENT_LABEL.length + 9);
  b.write(SEGMENT_LABEL, 0, 'latin1');
  b.writeBigUInt64LE(BigInt(seq), SEGMENT_LABEL.length);
  b[SEGMENT_LABEL.length + 8] = last ? 1 : 0;
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** Regroups a byte stream into segments of SEGMENT_SIZE, telling which is last. */
async function* segments(source: AsyncIterable<Uint8Array>): AsyncGenerator<{ data: Buffer; last: boolean }> {
  let pending: Buffer[] = [];
  let size = 0;
  let ready: Buffer | null = null;
  for await (const piece of source) {
    pending.push(Buffer.from(piece));
    size += piece.length;
    while (size >= SEGMENT_SIZE) {
      const all = Buffer.concat(pending);
      if (ready) yield { data: ready, last: false };
      ready = all.subarray(0, SEGMENT_SIZE);
      pending = [all.subarray(SEGMENT_SIZE)];
      size -= SEGMENT_SIZE;
    }
  }
  if (size > 0) {
    if (ready) yield { data: ready, last: false };
    yield { data: Buffer.concat(pending), last: true };
  } else yield { data: ready ?? Buffer.alloc(0), last: true };
}

export async function* encodeIndexCopy(dataKey: Buffer, meta: IndexCopyMeta, index: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const sealedMeta = seal(dataKey, Buffer.from(JSON.stringify(meta)), META_AAD);
  yield Buffer.concat([MAGIC, u32(sealedMeta.length), sealedMeta]);
  let seq = 0;
  for await (const s of segments(index)) {
    const sealed = seal(dataKey, zstd.compress(s.data), segmentAad(seq++, s.last));
    yield Buffer.concat([u32(sealed.length), sealed]);
  }
}

export function decodeIndexCopyMeta(dataKey: Buffer, head: Buffer, where: string): { meta: IndexCopyMeta; dataOffset: number } {
  if (head.length < 12 || magicVersion(head, MAGIC, 5, () => `stored index ${where}`) !== 1) throw new BadIndexError(`${where}: not a stored dtar index`);
  const n = head.readUInt32LE(8);
  if (12 + n > head.length) throw new BadIndexError(`${where}: stored index header truncated`);
  const meta = JSON.parse(open(dataKey, head.subarray(12, 12 + n), META_AAD, where).toString('utf8')) as IndexCopyMeta;
  return { meta, dataOffset: 12 + n };
}

/** The index tar held in a whole stored copy; checks every segment and that none is missing. */
export function* decodeIndexCopy(dataKey: Buffer, object: Buffer, where: string): Generator<Buffer> {
  let { dataOffset: o } = decodeIndexCopyMeta(dataKey, object, where);
  let seq = 0;
  for (;;) {
    if (o + 4 > object.length) throw new CorruptDataError(`${where}: stored index is truncated`);
    const n = object.readUInt32LE(o);
    if (n > MAX_SEALED_SEGMENT + 64 || o + 4 + n > object.length) throw new CorruptDataError(`${where}: stored index segment out of range`);
    const sealed = object.subarray(o + 4, o + 4 + n);
    o += 4 + n;
    const last = o === object.length;
    yield zstd.decompress(open(dataKey, sealed, segmentAad(seq++, last), `${where} segment ${seq}`));
    if (last) return;
  }
}
