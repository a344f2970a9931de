/**
 * Sealed copies of index tars kept in the store (`indexes/<id>`), so that the passphrase
 * and the store suffice to recover everything after the local index is lost. Streamed in
 * segments so that memory stays bounded whatever the index size (docs/FORMAT.md §8):
 *   "DTIDX2\0\0" | copyId[16] | u8 sealing | u32le metaLength | sealed(meta JSON)
 *   | segments: u32le length | sealed(zstd(plaintext segment)), AAD = label | copyId | u64le seq | u8 last
 * The random copy id in every AAD binds a copy's metadata and segments together. Sealing 0:
 * everything sealed with the data key; sealing 1 (a writer key's copy): an ephemeral X25519
 * public key follows the sealing byte, and everything is sealed with that agreement's
 * `index-copy` key (crypto/store-sealing.ts). Version 1 ("DTIDX1", no copy id, no sealing
 * byte) is still read.
 */
import { randomBytes } from 'node:crypto';
import * as zstd from 'zstd-napi';
import { open, seal } from '../crypto/aead';
import type { StoreKeys } from '../crypto/keys';
import { openedFromStore, sealToStore, X25519_KEY_SIZE } from '../crypto/store-sealing';
import { BadIndexError, CorruptDataError, UnsupportedFormatError } from '../errors';

export const INDEXES_PREFIX = 'indexes/';
const MAGIC = Buffer.from('DTIDX2\0\0');
const MAGIC_V1 = Buffer.from('DTIDX1\0\0');
const COPY_ID_SIZE = 16;
const SEALED_WITH_DATA_KEY = 0;
const SEALED_TO_STORE = 1;
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
  /** The index's own tag (docs/FORMAT.md §7), by which a local index finds its copy; absent in version 1. */
  tag?: string;
}

/** The copy id of a version 2 copy, null for version 1: what the AADs are built from. */
type CopyId = Buffer | null;

/** How a copy is sealed: with the data key, or to the store's public key (a writer key's copy). */
export type CopySealing = { dataKey: Buffer } | { storePublicKey: Buffer };

/** The keys that open copies: the data key, and the store's private key for writer keys' copies. */
export type CopyKeys = Pick<StoreKeys, 'data' | 'x25519'>;

export function newIndexCopyKey(created: Date): string {
  return `${INDEXES_PREFIX}${created.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(6).toString('hex')}`;
}

function metaAad(id: CopyId): Buffer {
  return id ? Buffer.concat([Buffer.from('dtar-index-copy-meta-v2'), id]) : Buffer.from('dtar-index-copy-meta-v1');
}

function segmentAad(id: CopyId, seq: number, last: boolean): Buffer {
  const label = Buffer.from(id ? 'dtar-index-copy-v2' : 'dtar-index-copy-v1', 'latin1');
  const b = Buffer.alloc(label.length + (id?.length ?? 0) + 9);
  label.copy(b);
  id?.copy(b, label.length);
  b.writeBigUInt64LE(BigInt(seq), b.length - 9);
  b[b.length - 1] = last ? 1 : 0;
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

export async function* encodeIndexCopy(sealing: CopySealing, meta: IndexCopyMeta, index: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const id = randomBytes(COPY_ID_SIZE);
  let key: Buffer;
  let how: Buffer;
  if ('dataKey' in sealing) {
    key = sealing.dataKey;
    how = Buffer.from([SEALED_WITH_DATA_KEY]);
  } else {
    const agreement = sealToStore(sealing.storePublicKey);
    key = agreement.key('index-copy');
    how = Buffer.concat([Buffer.from([SEALED_TO_STORE]), agreement.ephemeral]);
  }
  const sealedMeta = seal(key, Buffer.from(JSON.stringify(meta)), metaAad(id));
  yield Buffer.concat([MAGIC, id, how, u32(sealedMeta.length), sealedMeta]);
  let seq = 0;
  for await (const s of segments(index)) {
    const sealed = seal(key, zstd.compress(s.data), segmentAad(id, seq++, s.last));
    yield Buffer.concat([u32(sealed.length), sealed]);
  }
}

/**
 * Where a copy's sealed metadata starts, the copy id, and the ephemeral key of a writer
 * key's copy; throws for what is not a copy this dtar reads.
 */
function framing(head: Buffer, where: string): { id: CopyId; metaAt: number; ephemeral: Buffer | null } {
  const magic = head.subarray(0, 8);
  if (magic.equals(MAGIC_V1) && head.length >= 12) return { id: null, metaAt: 8, ephemeral: null };
  if (!magic.equals(MAGIC) || head.length < 8 + COPY_ID_SIZE + 5) {
    const newer = /^DTIDX(\d)\0\0$/.exec(magic.toString('latin1'));
    if (newer && Number(newer[1]) > 2) throw new UnsupportedFormatError(where, newer[1]);
    throw new BadIndexError(`${where}: not a stored dtar index`);
  }
  const at = 8 + COPY_ID_SIZE + 1;
  const id = head.subarray(8, 8 + COPY_ID_SIZE);
  const sealing = head[at - 1]!;
  if (sealing === SEALED_WITH_DATA_KEY) return { id, metaAt: at, ephemeral: null };
  if (sealing !== SEALED_TO_STORE) throw new UnsupportedFormatError(where, `2 with sealing ${sealing}`);
  if (head.length < at + X25519_KEY_SIZE + 4) throw new BadIndexError(`${where}: stored index header truncated`);
  return { id, metaAt: at + X25519_KEY_SIZE, ephemeral: head.subarray(at, at + X25519_KEY_SIZE) };
}

/** The key a copy is sealed with. */
function copyKey(keys: CopyKeys, ephemeral: Buffer | null, where: string): Buffer {
  return ephemeral ? openedFromStore(keys.x25519, ephemeral, 'index-copy', where) : keys.data;
}

/** How many bytes from a copy's start hold its header and sealed metadata (all decodeIndexCopyMeta needs), given its first bytes. */
export function indexCopyHeadLength(first: Buffer, where: string): number {
  const { metaAt } = framing(first, where);
  return metaAt + 4 + first.readUInt32LE(metaAt);
}

export function decodeIndexCopyMeta(keys: CopyKeys, head: Buffer, where: string): { meta: IndexCopyMeta; dataOffset: number; id: CopyId; key: Buffer } {
  const { id, metaAt, ephemeral } = framing(head, where);
  const n = head.readUInt32LE(metaAt);
  const at = metaAt + 4;
  if (at + n > head.length) throw new BadIndexError(`${where}: stored index header truncated`);
  const key = copyKey(keys, ephemeral, where);
  const meta = JSON.parse(open(key, head.subarray(at, at + n), metaAad(id), where).toString('utf8')) as IndexCopyMeta;
  return { meta, dataOffset: at + n, id, key };
}

/** The index tar held in a whole stored copy; checks every segment, that none is missing, and that all are this copy's. */
export function* decodeIndexCopy(keys: CopyKeys, object: Buffer, where: string): Generator<Buffer> {
  const { dataOffset, id, key } = decodeIndexCopyMeta(keys, object, where);
  let o = dataOffset;
  let seq = 0;
  for (;;) {
    if (o + 4 > object.length) throw new CorruptDataError(`${where}: stored index is truncated`);
    const n = object.readUInt32LE(o);
    if (n > MAX_SEALED_SEGMENT + 64 || o + 4 + n > object.length) throw new CorruptDataError(`${where}: stored index segment out of range`);
    const sealed = object.subarray(o + 4, o + 4 + n);
    o += 4 + n;
    const last = o === object.length;
    yield zstd.decompress(open(key, sealed, segmentAad(id, seq++, last), `${where} segment ${seq}`));
    if (last) return;
  }
}
