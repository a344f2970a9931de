/**
 * Writer key files (issue 23, docs/FORMAT.md §3): what a machine that only backs up holds
 * instead of the passphrase. They hold no key that opens anything in the store: the store's
 * public key (to seal to), the chunk-id and chunker keys (to cut and deduplicate as the
 * store does), the MAC key of the indexes this writer seals, and the digest of the config it
 * was made for (it cannot check the config's MAC). A local file, never stored in `keys/`.
 */
import { randomBytes } from 'node:crypto';
import { indexSealerKey, StoreKeys, x25519PublicKey } from '../crypto/keys';
import { configDigest, StoreConfig } from './config';

const VERSION = 2;
const KIND = 'writer';

export interface WriterKey {
  storeId: string;
  /** Store location as given when the key was made. */
  store: string;
  /** "writer:<16 hex>": the sealer of the indexes this key writes. */
  sealer: string;
  created: string;
  configSha256: Buffer;
  storePublicKey: Buffer;
  chunkId: Buffer;
  chunker: Buffer;
  /** The MAC key of this writer's indexes (indexSealerKey of its sealer). */
  indexMac: Buffer;
}

/** A new writer, for the store whose config and keys these are. */
export function newWriterKey(config: StoreConfig, keys: StoreKeys, store: string): WriterKey {
  const sealer = `writer:${randomBytes(8).toString('hex')}`;
  return {
    storeId: config.id,
    store,
    sealer,
    created: new Date().toISOString(),
    configSha256: configDigest(config),
    storePublicKey: x25519PublicKey(keys.x25519),
    chunkId: keys.chunkId,
    chunker: keys.chunker,
    indexMac: indexSealerKey(keys.indexMac, sealer),
  };
}

const BINARY = ['configSha256', 'storePublicKey', 'chunkId', 'chunker', 'indexMac'] as const;

export function encodeWriterKey(k: WriterKey): Buffer {
  const file: Record<string, string | number> = { version: VERSION, kind: KIND, created: k.created, storeId: k.storeId, store: k.store, sealer: k.sealer };
  for (const f of BINARY) file[f] = k[f].toString('base64');
  return Buffer.from(JSON.stringify(file, null, 2) + '\n');
}
