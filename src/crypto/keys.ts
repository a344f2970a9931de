/**
 * The store's key hierarchy. One random 64-byte master secret per store; every key in
 * use is derived from it with HKDF-SHA256 under a distinct label, so that the chunk id
 * MAC, the data encryption and the chunker's gear table are independent.
 */
import { hkdfSync, randomBytes } from 'node:crypto';

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

/**
 * The MAC key of the indexes `sealer` writes. One per sealer, so that a key able to write
 * indexes without the master secret (a writer key, docs/FORMAT.md §3) holds only its own.
 */
export function indexSealerKey(indexMac: Buffer, sealer: string): Buffer {
  return Buffer.from(hkdfSync('sha256', indexMac, Buffer.alloc(0), `dtar index sealer ${sealer}`, 32));
}
