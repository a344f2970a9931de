/**
 * One stored chunk: compressed (or raw when that is not smaller), padded to a PADMÉ
 * length, and sealed with the chunk id as associated data. Sealed layout:
 *   nonce(12) | AES-GCM( flags u8 | payloadLength u32le | payload | zero padding ) | tag(16)
 * flags: 0 = raw, 1 = zstd; any other value, authenticated, is a newer dtar's encoding. The
 * padding is inside the authenticated plaintext.
 * A chunk a writer key sealed (docs/FORMAT.md §4) is the same behind
 *   "DTCHKS1\0" | ephemeral X25519 public key(32)
 * sealed with the `chunks` key of that agreement (crypto/store-sealing.ts) under its own AAD label.
 */
import { createHmac } from 'node:crypto';
import * as zstd from 'zstd-napi';
import * as zstdBinding from 'zstd-napi/binding';
import { open, SEAL_OVERHEAD, sealParts, tryOpen } from '../crypto/aead';
import type { StoreKeys } from '../crypto/keys';
import { padme } from '../crypto/padding';
import { openedFromStore, X25519_KEY_SIZE } from '../crypto/store-sealing';
import { CorruptDataError, UnsupportedFormatError } from '../errors';

const FLAG_RAW = 0;
const FLAG_ZSTD = 1;
const PREFIX = 5;
const AAD_LABEL = Buffer.from('dtar-chunk-v1\0');
const SEALED_AAD_LABEL = Buffer.from('dtar-chunk-sealed-v1\0');
const SEALED_MAGIC = Buffer.from('DTCHKS1\0', 'latin1');
/** Bytes before the nonce of a chunk sealed to the store. */
export const SEALED_CHUNK_PREFIX = SEALED_MAGIC.length + X25519_KEY_SIZE;

/** The keys that open chunks: the data key, the store's private key for chunks writers sealed, the chunk id key. */
export type ChunkKeys = Pick<StoreKeys, 'data' | 'x25519' | 'chunkId'>;

/** What goes before each chunk sealed with an agreement whose ephemeral public key is `ephemeral`. */
export function sealedChunkPrefix(ephemeral: Buffer): Buffer {
  return Buffer.concat([SEALED_MAGIC, ephemeral]);
}

export function chunkId(idKey: Buffer, plaintext: Uint8Array): Buffer {
  return createHmac('sha256', idKey).update(plaintext).digest();
}

function chunkAad(id: Uint8Array, sealedToStore = false): Buffer {
  return Buffer.concat([sealedToStore ? SEALED_AAD_LABEL : AAD_LABEL, id]);
}

/**
 * Compresses and seals chunks, reusing one compression context and one scratch buffer:
 * ingest seals every new chunk, and per-chunk buffers were most of its memory churn.
 */
export class ChunkSealer {
  private readonly cctx: zstdBinding.CCtx | null;
  private scratch = Buffer.alloc(0);

  /** `level` is the zstd level; 0 stores chunks raw. */
  constructor(readonly level: number) {
    this.cctx = level === 0 ? null : new zstdBinding.CCtx();
  }

  private room(n: number): Buffer {
    if (this.scratch.length < n) this.scratch = Buffer.allocUnsafe(n);
    return this.scratch;
  }

  /**
   * A sealed chunk as its nonce, ciphertext and tag (see crypto/aead.ts sealParts), under the
   * data key, or with `sealedToStore` under an agreement's `chunks` key (the caller puts
   * sealedChunkPrefix before it).
   */
  sealParts(key: Buffer, id: Uint8Array, plaintext: Uint8Array, sealedToStore = false): [nonce: Buffer, body: Buffer, tag: Buffer] {
    const body = this.room(padme(PREFIX + Math.max(plaintext.length, zstdBinding.compressBound(plaintext.length))));
    let flags = FLAG_RAW;
    let n = plaintext.length;
    if (this.cctx) {
      const c = this.cctx.compress(body.subarray(PREFIX), plaintext, this.level);
      if (c < plaintext.length) {
        flags = FLAG_ZSTD;
        n = c;
      }
    }
    if (flags === FLAG_RAW) body.set(plaintext, PREFIX);
    body[0] = flags;
    body.writeUInt32LE(n, 1);
    const padded = padme(PREFIX + n);
    body.fill(0, PREFIX + n, padded);
    return sealParts(key, body.subarray(0, padded), chunkAad(id, sealedToStore));
  }
}

/** One decompression context per thread, reused: a chunk decompresses straight into its buffer. */
let dctx: zstdBinding.DCtx | null = null;

/**
 * Keys of the agreements chunks were sealed with, per store private key: one ingest with a
 * writer key seals all its chunks with one agreement, which a reader would otherwise agree
 * again for every chunk (an X25519 each).
 */
const agreed = new WeakMap<Buffer, Map<string, Buffer>>();
const AGREED_KEPT = 256;

function sealedChunkKey(storePrivate: Buffer, ephemeral: Uint8Array, where: string): Buffer {
  let keys = agreed.get(storePrivate);
  if (!keys) agreed.set(storePrivate, (keys = new Map()));
  const hex = Buffer.from(ephemeral).toString('hex');
  let key = keys.get(hex);
  if (!key) {
    key = openedFromStore(storePrivate, ephemeral, 'chunks', where);
    if (keys.size >= AGREED_KEPT) keys.clear();
    keys.set(hex, key);
  }
  return key;
}

/**
 * The chunk record inside a sealed chunk, authenticated, and whether a writer key sealed it.
 * A chunk that begins with the magic of one sealed to the store is opened as one; should a
 * chunk sealed with the data key begin so by chance (its random nonce, 2^-64), it still opens
 * as what it is.
 */
function openBody(keys: ChunkKeys, id: Uint8Array, sealed: Uint8Array, where: string): { body: Buffer; byWriter: boolean } {
  if (sealed.length >= SEALED_CHUNK_PREFIX + SEAL_OVERHEAD && SEALED_MAGIC.equals(sealed.subarray(0, SEALED_MAGIC.length))) {
    let key: Buffer | null = null;
    try {
      key = sealedChunkKey(keys.x25519, sealed.subarray(SEALED_MAGIC.length, SEALED_CHUNK_PREFIX), where);
    } catch (e) {
      if (!(e instanceof CorruptDataError)) throw e;
    }
    const body = key && tryOpen(key, sealed.subarray(SEALED_CHUNK_PREFIX), chunkAad(id, true));
    if (body) return { body, byWriter: true };
  }
  return { body: open(keys.data, sealed, chunkAad(id), where), byWriter: false };
}

/**
 * When opening a chunk recomputes its id from the plaintext.
 * - `writer-sealed`: only for chunks a writer key sealed. A chunk sealed with the data key is
 *   authenticated under its id (the AAD) by whoever holds the data key, which only the owner
 *   does: the MAC over the plaintext would tell nothing more, at a third of a read's CPU.
 *   A writer key can seal any bytes under any id, so those chunks are always checked.
 * - `every`: every chunk, as `verify --read-data` does (a check of dtar itself, not only of the store).
 */
export type IdCheck = 'writer-sealed' | 'every';

/**
 * Opens a sealed chunk and checks it is the chunk asked for: authenticated under the id,
 * decompressed to its length, and its MAC recomputed as `check` says. `where` names it in
 * errors. With `into` (at least plainLength bytes), the plaintext is written there and
 * returned as a view of it.
 */
export function openChunk(keys: ChunkKeys, id: Uint8Array, plainLength: number, sealed: Uint8Array, where: string, check: IdCheck, into?: Buffer): Buffer {
  const { body, byWriter } = openBody(keys, id, sealed, where);
  if (body.length < PREFIX) throw new CorruptDataError(`${where}: chunk record too short`);
  const flags = body[0];
  const n = body.readUInt32LE(1);
  if (PREFIX + n > body.length) throw new CorruptDataError(`${where}: chunk payload length out of range`);
  const payload = body.subarray(PREFIX, PREFIX + n);
  let plain: Buffer;
  if (flags === FLAG_RAW) {
    if (n !== plainLength) throw new CorruptDataError(`${where}: chunk has ${n} bytes, expected ${plainLength}`);
    plain = into ? into.subarray(0, payload.copy(into)) : payload;
  } else if (flags === FLAG_ZSTD) {
    try {
      if (into) {
        dctx ??= new zstdBinding.DCtx();
        // A frame larger than the chunk fails here (no room), one smaller is caught below.
        plain = into.subarray(0, dctx.decompress(into.subarray(0, plainLength), payload));
      } else {
        plain = zstd.decompress(payload);
      }
    } catch {
      throw new CorruptDataError(`${where}: chunk does not decompress`);
    }
  } else throw new UnsupportedFormatError(`${where}: a chunk's encoding`, flags);
  if (plain.length !== plainLength) throw new CorruptDataError(`${where}: chunk has ${plain.length} bytes, expected ${plainLength}`);
  if ((byWriter || check === 'every') && !chunkId(keys.chunkId, plain).equals(Buffer.from(id.buffer, id.byteOffset, id.byteLength))) {
    throw new CorruptDataError(`${where}: chunk content does not match its id`);
  }
  return plain;
}
