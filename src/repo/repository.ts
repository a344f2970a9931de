/**
 * An open store: the backend, its authenticated config and the keys unlocked with the
 * passphrase. Everything above (ingest, restore, mount, the commands) works through this.
 *
 * Creation order makes concurrent `init`s safe: the key file goes first under a fresh
 * name, then `config` is created only if absent; the loser removes its key file.
 */
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ChunkerParams, DEFAULT_CHUNKER_PARAMS, validateChunkerParams } from '../chunk/chunker';
import { keyedGearTable, publicGearTable } from '../chunk/gear';
import { deriveKeys, newMasterSecret, StoreKeys } from '../crypto/keys';
import { NotFoundError, ObjectExistsError, StoreExistsError, StoreNotFoundError, UsageError, WrongPassphraseError } from '../errors';
import type { Backend } from '../store/backend';
import { Catalogue } from '../catalogue/catalogue';
import { checkConfigMac, CONFIG_MAX, encodeConfig, parseConfig, STORE_FORMAT, STORE_VERSION, StoreConfig, StoredConfig } from './config';
import { KEY_FILE_MAX, KEYS_PREFIX, unwrapMaster, wrapMaster } from './keyfile';

export const DEFAULT_BRICK_SIZE = 32 * 1024 * 1024;

export interface InitOptions {
  chunker?: ChunkerParams;
  keyedChunker?: boolean;
  brickSize?: number;
}

export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'dtar');
}

export class Repository {
  readonly gear: Uint32Array;
  private catalogueLoaded: Catalogue | null = null;

  private constructor(
    readonly backend: Backend,
    readonly config: StoreConfig,
    readonly keys: StoreKeys,
    /** Directory for local caches of this store, or null for none. */
    readonly cacheDir: string | null,
  ) {
    this.gear = config.chunker.keyed ? keyedGearTable(keys.chunker) : publicGearTable();
  }

  get id(): string {
    return this.config.id;
  }

  /** The catalogue, loaded (and refreshed) on first use. */
  async catalogue(): Promise<Catalogue> {
    if (!this.catalogueLoaded) {
      const c = new Catalogue(this.backend, this.keys.data, this.cacheDir ? join(this.cacheDir, 'catalogue') : null);
      await c.refresh();
      this.catalogueLoaded = c;
    }
    return this.catalogueLoaded;
  }

  static async init(backend: Backend, passphrase: string, options: InitOptions, cacheRoot: string | null): Promise<Repository> {
    if (await backend.stat('config')) throw new StoreExistsError(backend.location);
    const chunker = options.chunker ?? DEFAULT_CHUNKER_PARAMS;
    try {
      validateChunkerParams(chunker);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const brickSize = options.brickSize ?? DEFAULT_BRICK_SIZE;
    if (!(brickSize >= 1024 * 1024 && brickSize <= 1024 * 1024 * 1024)) throw new UsageError('brick size must be between 1 MiB and 1 GiB');
    const config: StoreConfig = {
      format: STORE_FORMAT,
      version: STORE_VERSION,
      id: randomBytes(16).toString('hex'),
      created: new Date().toISOString(),
      chunker: { algorithm: 'fastcdc-gear32', keyed: options.keyedChunker ?? true, ...chunker },
      brickSize,
    };
    const master = newMasterSecret();
    const keys = deriveKeys(master);
    const keyName = `${KEYS_PREFIX}${randomBytes(8).toString('hex')}`;
    await backend.put(keyName, await wrapMaster(master, passphrase, config.id), { ifAbsent: true });
    try {
      await backend.put('config', encodeConfig(keys.config, config), { ifAbsent: true });
    } catch (e) {
      await backend.delete(keyName);
      if (e instanceof ObjectExistsError) throw new StoreExistsError(backend.location);
      throw e;
    }
    return new Repository(backend, config, keys, cacheRoot ? join(cacheRoot, config.id) : null);
  }

  static async open(backend: Backend, passphrase: string, cacheRoot: string | null): Promise<Repository> {
    const config = await readConfig(backend);
    const { master } = await unlock(backend, passphrase, config.id);
    const keys = deriveKeys(master);
    checkConfigMac(keys.config, config);
    return new Repository(backend, config, keys, cacheRoot ? join(cacheRoot, config.id) : null);
  }
}

/** The store's config, shape and version checked (its MAC is checked once a key is open). */
export async function readConfig(backend: Backend): Promise<StoredConfig> {
  try {
    return parseConfig(await backend.get('config', { maxLength: CONFIG_MAX }));
  } catch (e) {
    if (e instanceof NotFoundError) throw new StoreNotFoundError(backend.location);
    throw e;
  }
}

/** Tries every key file; the first the passphrase opens, and the master secret in it. */
export async function unlock(backend: Backend, passphrase: string, storeId: string): Promise<{ key: string; master: Buffer }> {
  for await (const o of backend.list(KEYS_PREFIX)) {
    const master = await unwrapMaster(await backend.get(o.key, { maxLength: KEY_FILE_MAX }), passphrase, storeId, o.key);
    if (master) return { key: o.key, master };
  }
  throw new WrongPassphraseError();
}
