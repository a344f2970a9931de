/**
 * What ingest writes into, and with which keys: the store opened with the passphrase, or
 * with a writer key (issue 23, docs/FORMAT.md §3), which seals everything to the store's
 * public key, deduplicates through the catalogue's lookups, and authenticates its index
 * with its own MAC key. Ingest itself does not tell the two apart.
 */
import { join } from 'node:path';
import { sealedChunkPrefix } from '../brick/chunk-codec';
import type { BrickSealing } from '../brick/format';
import type { IngestCatalogue } from '../catalogue/catalogue';
import { WriterCatalogue } from '../catalogue/writer-catalogue';
import { keyedGearTable, publicGearTable } from '../chunk/gear';
import { sealToStore } from '../crypto/store-sealing';
import { WriterKeyError, WrongStoreError } from '../errors';
import type { CopySealing } from '../index/copy';
import { OWNER_SEALER } from '../index/seal';
import { configDigest, StoreConfig } from '../repo/config';
import { StoreLock } from '../repo/lock';
import { readConfig, Repository, Warn } from '../repo/repository';
import { isRevoked } from '../repo/revocation';
import type { WriterKey } from '../repo/writer-key';
import type { Backend } from '../store/backend';

export interface IngestTarget {
  backend: Backend;
  config: StoreConfig;
  gear: Uint32Array;
  chunkIdKey: Buffer;
  catalogue: IngestCatalogue;
  /** The key chunks are sealed with, and what goes before each (a writer key's agreement), or null. */
  chunkSealing: { key: Buffer; prefix: Buffer | null };
  brickSealing: BrickSealing;
  copySealing: CopySealing;
  /** Whose key authenticates the index (docs/FORMAT.md §7), and that key. */
  sealer: string;
  indexMacKey: Buffer;
  /**
   * The store's shared lock, held from before the catalogue loads until the index copy is
   * stored, so that no prune deletes a brick this ingest deduplicates against (src/repo/lock.ts);
   * a writer key's marks its lock released instead of deleting it.
   */
  lock: StoreLock;
}

export async function ownerTarget(repo: Repository): Promise<IngestTarget> {
  const dataKey = repo.keys.data;
  const lock = await StoreLock.take(repo.backend, 'shared', { command: 'ingest', warn: repo.warn });
  const catalogue = await repo.catalogue().catch(async (e: unknown) => {
    await lock.release(false);
    throw e;
  });
  return {
    lock,
    backend: repo.backend,
    config: repo.config,
    gear: repo.gear,
    chunkIdKey: repo.keys.chunkId,
    catalogue,
    chunkSealing: { key: dataKey, prefix: null },
    brickSealing: { dataKey },
    copySealing: { dataKey },
    sealer: OWNER_SEALER,
    indexMacKey: repo.indexAuth.sealerKey(OWNER_SEALER),
  };
}

/**
 * The store as a writer key writes to it. Refused (exit 3) when the key was revoked or made
 * for another store, or when the config is not the one it was made for (it cannot check the
 * config's MAC, so it holds the config's digest instead). `warn`: where a lock left behind is
 * named (src/repo/lock.ts, release).
 */
export async function writerTarget(backend: Backend, key: WriterKey, cacheRoot: string | null, warn: Warn): Promise<IngestTarget> {
  const config = await readConfig(backend);
  if (config.id !== key.storeId) throw new WrongStoreError(`the writer key is for store ${key.storeId}, not for the store at ${backend.location} (${config.id})`);
  if (!configDigest(config).equals(key.configSha256)) throw new WrongStoreError(`the store config at ${backend.location} is not the one the writer key was made for (altered?)`);
  if (await isRevoked(backend, key.sealer)) throw new WriterKeyError(`writer key ${key.sealer} was revoked (dtar key revoke-writer): it can no longer ingest`);
  const lock = await StoreLock.take(backend, 'shared', { command: 'ingest', writer: true, warn });
  const catalogue = await WriterCatalogue.load(backend, key.storePublicKey, cacheRoot ? join(cacheRoot, config.id, 'catalogue') : null).catch(async (e: unknown) => {
    await lock.release(false);
    throw e;
  });
  // One agreement for all the chunks of this ingest: the workers seal chunks before the brick they go into is chosen.
  const chunks = sealToStore(key.storePublicKey);
  return {
    lock,
    backend,
    config,
    gear: config.chunker.keyed ? keyedGearTable(key.chunker) : publicGearTable(),
    chunkIdKey: key.chunkId,
    catalogue,
    chunkSealing: { key: chunks.key('chunks'), prefix: sealedChunkPrefix(chunks.ephemeral) },
    brickSealing: { storePublicKey: key.storePublicKey },
    copySealing: { storePublicKey: key.storePublicKey },
    sealer: key.sealer,
    indexMacKey: key.indexMac,
  };
}
