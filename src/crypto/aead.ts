/**
 * Authenticated encryption of everything dtar stores: AES-256-GCM with a fresh random
 * 96-bit nonce per message. Layout: nonce (12) | ciphertext | tag (16). The associated
 * data binds a message to its role (and, for chunks, to its id), so an object cannot be
 * swapped for another one undetected.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CorruptDataError } from '../errors';

export const NONCE_SIZE = 12;
export const TAG_SIZE = 16;
export const SEAL_OVERHEAD = NONCE_SIZE + TAG_SIZE;

/** Random nonces drawn in bulk: one call to the system's generator per 1024 seals, not one each. */
const NONCE_POOL = 1024;
let nonces = Buffer.alloc(0);
let noncePos = 0;

function freshNonce(): Buffer {
  if (noncePos >= nonces.length) {
    nonces = randomBytes(NONCE_SIZE * NONCE_POOL);
    noncePos = 0;
  }
  const n = nonces.subarray(noncePos, noncePos + NONCE_SIZE);
  noncePos += NONCE_SIZE;
  return n;
}

export function seal(key: Buffer, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  return Buffer.concat(sealParts(key, plaintext, aad));
}

/**
 * seal() as its three parts, nonce, ciphertext and tag: the ciphertext is the cipher's own
 * output, uncopied, which ingest hands on to the thread that packs it.
 */
export function sealParts(key: Buffer, plaintext: Uint8Array, aad: Uint8Array): [nonce: Buffer, body: Buffer, tag: Buffer] {
  const nonce = freshNonce();
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  cipher.final(); // GCM is a stream mode: final() yields no bytes, only the tag
  return [nonce, body, cipher.getAuthTag()];
}

/**
 * seal() of the concatenation of `parts`, handed to `write` piece by piece (nonce, each
 * part's ciphertext, tag): the same bytes as seal(), without holding a second copy of a
 * large plaintext at once.
 */
export async function sealPieces(key: Buffer, parts: Iterable<Uint8Array>, aad: Uint8Array, write: (b: Buffer) => Promise<void>): Promise<void> {
  const nonce = freshNonce();
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  await write(nonce);
  for (const part of parts) await write(cipher.update(part));
  cipher.final();
  await write(cipher.getAuthTag());
}

/** Decrypts and authenticates; null when the data was altered or sealed under another key. */
export function tryOpen(key: Buffer, sealed: Uint8Array, aad: Uint8Array): Buffer | null {
  if (sealed.length < SEAL_OVERHEAD) return null;
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, NONCE_SIZE));
  decipher.setAAD(aad);
  decipher.setAuthTag(buf.subarray(buf.length - TAG_SIZE));
  try {
    const out = decipher.update(buf.subarray(NONCE_SIZE, buf.length - TAG_SIZE));
    const final = decipher.final();
    return final.length === 0 ? out : Buffer.concat([out, final]);
  } catch {
    return null;
  }
}

/** Decrypts and authenticates; throws CorruptDataError (naming `what`) when anything was altered. */
export function open(key: Buffer, sealed: Uint8Array, aad: Uint8Array, what: string): Buffer {
  const plain = tryOpen(key, sealed, aad);
  if (!plain) throw new CorruptDataError(`${what}: authentication failed (damaged, or not written with this store's key)`);
  return plain;
}
