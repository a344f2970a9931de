/**
 * One stored chunk: compressed (or raw when that is not smaller), padded to a PADMÉ
 * length, and sealed with the chunk id as associated data. Sealed layout:
 *   nonce(12) | AES-GCM( flags u8 | payloadLength u32le | payload | zero padding ) | tag(16)
 * flags: 0 = raw, 1 = zstd. The padding is inside the authenticated plaintext.
 */
import { createHmac } from 'node:crypto';
import * as zstd from 'zstd-napi';
import { open, seal } from '../crypto/aead';
import { padme } from '../crypto/padding';
import { CorruptDataError } from '../errors';

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

export interface ChunkSealer {
  /** zstd level; 0 stores raw. */
  readonly level: number;
  readonly compressor: zstd.Compressor | null;
}

export function newChunkSealer(level: number): ChunkSealer {
  if (level === 0) return { level, compressor: null };
  const compressor = new zstd.Compressor();
  compressor.setParameters({ compressionLevel: level });
  return { level, compressor };
}

export function sealChunk(sealer: ChunkSealer, dataKey: Buffer, id: Uint8Array, plaintext: Uint8Array): Buffer {
  let flags = FLAG_RAW;
  let payload: Uint8Array = plaintext;
  if (sealer.compressor) {
    const c = sealer.compressor.compress(plaintext);
    if (c.length < plaintext.length) {
      flags = FLAG_ZSTD;
      payload = c;
    }
  }
  const body = Buffer.alloc(padme(PREFIX + payload.length));
  body[0] = flags;
  body.writeUInt32LE(payload.length, 1);
  body.set(payload, PREFIX);
  return seal(dataKey, body, chunkAad(id));
}

/**
 * Opens a sealed chunk and checks it is the chunk asked for: authenticated under the
 * id, decompressed, and its MAC recomputed. `where` names it in errors.
 */
export function openChunk(dataKey: Buffer, idKey: Buffer, id: Uint8Array, plainLength: number, sealed: Uint8Array, where: string): Buffer {
  const body = open(dataKey, sealed, chunkAad(id), where);
  if (body.length < PREFIX) throw new CorruptDataError(`${where}: chunk record too short`);
  const flags = body[0];
  const n = body.readUInt32LE(1);
  if (PREFIX + n > body.length) throw new CorruptDataError(`${where}: chunk payload length out of range`);
  const payload = body.subarray(PREFIX, PREFIX + n);
  let plain: Buffer;
  if (flags === FLAG_RAW) plain = payload;
  else if (flags === FLAG_ZSTD) {
    try {
      plain = zstd.decompress(payload);
    } catch {
      throw new CorruptDataError(`${where}: chunk does not decompress`);
    }
  } else throw new CorruptDataError(`${where}: unknown chunk encoding ${String(flags)}`);
  if (plain.length !== plainLength) throw new CorruptDataError(`${where}: chunk has ${plain.length} bytes, expected ${plainLength}`);
  if (!chunkId(idKey, plain).equals(Buffer.from(id.buffer, id.byteOffset, id.byteLength))) {
    throw new CorruptDataError(`${where}: chunk content does not match its id`);
  }
  return plain;
}
