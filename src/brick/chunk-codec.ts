/**
 * One stored chunk: compressed (or raw when that is not smaller), padded to a PADMÉ
 * length, and sealed with the chunk id as associated data. Sealed layout:
 *   nonce(12) | AES-GCM( flags u8 | payloadLength u32le | payload | zero padding ) | tag(16)
 * flags: 0 = raw, 1 = zstd; any other value, authenticated, is a newer dtar's encoding. The
 * padding is inside the authenticated plaintext.
 */
import { createHmac } from 'node:crypto';
import * as zstd from 'zstd-napi';
import * as zstdBinding from 'zstd-napi/binding';
import { open, sealParts } from '../crypto/aead';
import { padme } from '../crypto/padding';
import { CorruptDataError, UnsupportedFormatError } from '../errors';

const FLAG_RAW = 0;
const FLAG_ZSTD = 1;
const PREFIX = 5;
const AAD_LABEL = Buffer.from('dtar-chunk-v1\0');

export function chunkId(idKey: Buffer, plaintext: Uint8Array): Buffer {
  return createHmac('sha256', idKey).update(plaintext).digest();
}

function chunkAad(id: Uint8Array): Buffer {
  return Buffer.concat([AAD_LABEL, id]);
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

  /** A sealed chunk as its nonce, ciphertext and tag (see crypto/aead.ts sealParts). */
  sealParts(dataKey: Buffer, id: Uint8Array, plaintext: Uint8Array): [nonce: Buffer, body: Buffer, tag: Buffer] {
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
    return sealParts(dataKey, body.subarray(0, padded), chunkAad(id));
  }
}

/** One decompression context per thread, reused: a chunk decompresses straight into its buffer. */
let dctx: zstdBinding.DCtx | null = null;

/**
 * Opens a sealed chunk and checks it is the chunk asked for: authenticated under the
 * id, decompressed, and its MAC recomputed. `where` names it in errors. With `into`
 * (at least plainLength bytes), the plaintext is written there and returned as a view of it.
 */
export function openChunk(dataKey: Buffer, idKey: Buffer, id: Uint8Array, plainLength: number, sealed: Uint8Array, where: string, into?: Buffer): Buffer {
  const body = open(dataKey, sealed, chunkAad(id), where);
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
  if (!chunkId(idKey, plain).equals(Buffer.from(id.buffer, id.byteOffset, id.byteLength))) {
    throw new CorruptDataError(`${where}: chunk content does not match its id`);
  }
  return plain;
}
