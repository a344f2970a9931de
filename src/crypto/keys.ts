/**
 * The store's key hierarchy. One random 64-byte master secret per store; every key in
 * use is derived from it with HKDF-SHA256 under a distinct label, so that the chunk id
 * MAC, the data encryption and the chunker's gear table are independent.
 */
import { createPrivateKey, createPublicKey, hkdfSync, randomBytes } from 'node:crypto';

export const MASTER_SECRET_SIZE = 64;

export interface StoreKeys {
  /** AES-256-GCM key for chunks, brick tables, catalogue segments and index copies. */
  readonly data: Buffer;
  /** HMAC-SHA256 key for chunk ids. */
  readonly chunkId: Buffer;
  /** Seed of the keyed content-defined chunker. */
  readonly chunker: Buffer;
  /** HMAC key authenticating the plaintext store config. */
  readonly config: Buffer;
  /** Root of the keys that authenticate index tars, one per sealer (indexSealerKey). */
  readonly indexMac: Buffer;
  /** Private X25519 key of the store (raw, 32 bytes): what a writer key seals to (docs/FORMAT.md §3). */
  readonly x25519: Buffer;
}

export function newMasterSecret(): Buffer {
  return randomBytes(MASTER_SECRET_SIZE);
}

function derive(master: Buffer, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `dtar-v1 ${label}`, 32));
}

export function deriveKeys(master: Buffer): StoreKeys {
  return {
    data: derive(master, 'data'),
    chunkId: derive(master, 'chunk-id'),
    chunker: derive(master, 'chunker'),
    config: derive(master, 'config'),
    indexMac: derive(master, 'index-mac'),
    x25519: derive(master, 'store-x25519'),
  };
}

/** DER prefixes that wrap a raw X25519 key for Node's crypto (RFC 8410). */
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');

/** The raw public half of a raw X25519 private key. */
export function x25519PublicKey(privateKey: Buffer): Buffer {
  const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8, privateKey]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  if (!spki.subarray(0, X25519_SPKI.length).equals(X25519_SPKI)) throw new Error('unexpected X25519 public key encoding');
  return spki.subarray(X25519_SPKI.length);
}

/**
 * The MAC key of the indexes `sealer` writes. One per sealer, so that a key able to write
 * indexes without the master secret (a writer key, docs/FORMAT.md §3) holds only its own.
 */
export function indexSealerKey(indexMac: Buffer, sealer: string): Buffer {
  return Buffer.from(hkdfSync('sha256', indexMac, Buffer.alloc(0), `dtar index sealer ${sealer}`, 32));
}
