/**
 * Writer key files (issue 23, docs/FORMAT.md §3): what a machine that only backs up holds
 * instead of the passphrase. They hold no key that opens anything in the store: the store's
 * public key (to seal to), the chunk-id and chunker keys (to cut and deduplicate as the
 * store does), the MAC key of the indexes this writer seals, and the digest of the config it
 * was made for (it cannot check the config's MAC). A local file, never stored in `keys/`.
 */
import { randomBytes } from 'node:crypto';
import { indexSealerKey, StoreKeys } from '../crypto/keys';
import { x25519PublicKey } from '../crypto/store-sealing';
import { UnsupportedFormatError, UsageError } from '../errors';
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

/** A writer key file's contents, checked; throws UsageError saying why `bytes` is not one dtar can use. */
export function parseWriterKey(bytes: Buffer, path: string): WriterKey {
  const bad = (why: string): never => {
    throw new UsageError(`${path} is not a dtar writer key: ${why}`);
  };
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    return bad('not valid JSON');
  }
  const f = v as Record<string, unknown> | null;
  if (typeof f !== 'object' || f === null) return bad('not a key file');
  if (f.kind !== KIND) return bad(f.kind === 'owner' || f.wrapped !== undefined ? 'it is a passphrase key file' : 'not a writer key file');
  if (f.version !== VERSION) throw new UnsupportedFormatError(`writer key ${path}`, f.version);
  const text = (name: string, re: RegExp): string => (typeof f[name] === 'string' && re.test(f[name] as string) ? (f[name] as string) : bad(`malformed ${name}`));
  const binary = (name: (typeof BINARY)[number], size: number): Buffer => {
    const b = Buffer.from(text(name, /^[A-Za-z0-9+/]+=*$/), 'base64');
    return b.length === size ? b : bad(`malformed ${name}`);
  };
  return {
    storeId: text('storeId', /^[0-9a-f]{32}$/),
    store: text('store', /^.+$/s),
    sealer: text('sealer', /^writer:[0-9a-f]{16}$/),
    created: text('created', /^.+$/),
    configSha256: binary('configSha256', 32),
    storePublicKey: binary('storePublicKey', 32),
    chunkId: binary('chunkId', 32),
    chunker: binary('chunker', 32),
    indexMac: binary('indexMac', 32),
  };
}
