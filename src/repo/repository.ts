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
import { deriveKeys, indexSealerKey, newMasterSecret, StoreKeys } from '../crypto/keys';
import type { IndexAuth } from '../index/seal';
import { CorruptDataError, NotFoundError, ObjectExistsError, StoreExistsError, StoreNotFoundError, UnsupportedFormatError, UsageError, WrongPassphraseError } from '../errors';
import type { Backend } from '../store/backend';
import { Catalogue } from '../catalogue/catalogue';
import { configMacMatches, CONFIG_MAX, encodeConfig, parseConfig, STORE_FORMAT, STORE_VERSION, StoreConfig, StoredConfig } from './config';
import { KEY_FILE_MAX, KEYS_PREFIX, parseKeyFile, unwrapMaster, wrapMaster } from './keyfile';

export const DEFAULT_BRICK_SIZE = 32 * 1024 * 1024;

export interface InitOptions {
  chunker?: ChunkerParams;
  keyedChunker?: boolean;
  brickSize?: number;
  /** scrypt cost of the key file (default KDF_LOG_N). */
  kdfLogN?: number;
}

/** Where a command's warnings go (one line each, no newline). */
export type Warn = (line: string) => void;

export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'dtar');
}

/** The cache directory of one store under the cache root, or null for none. */
export function storeCacheDir(cacheRoot: string | null, storeId: string): string | null {
  return cacheRoot ? join(cacheRoot, storeId) : null;
}

export class Repository {
  readonly gear: Uint32Array;
  /** Authenticates this store's indexes; warns (once per index) about those too old to carry a MAC. */
  readonly indexAuth: IndexAuth;
  private catalogueLoaded: Catalogue | null = null;

  private constructor(
    readonly backend: Backend,
    readonly config: StoreConfig,
    readonly keys: StoreKeys,
    /** Directory for local caches of this store, or null for none. */
    readonly cacheDir: string | null,
    /** Where this command's warnings go. */
    readonly warn: Warn = () => undefined,
  ) {
    this.gear = config.chunker.keyed ? keyedGearTable(keys.chunker) : publicGearTable();
    const warned = new Set<string>();
    this.indexAuth = {
      sealerKey: (sealer) => indexSealerKey(keys.indexMac, sealer),
      unauthenticated: (where) => {
        if (warned.has(where)) return;
        warned.add(where);
        warn(`${where} is not authenticated (written before index format 2): see "Old indexes" in docs/COMMANDS.md to replace it`);
      },
    };
  }

  get id(): string {
    return this.config.id;
  }

  /** The catalogue, loaded (and refreshed) on first use. */
  async catalogue(): Promise<Catalogue> {
    if (!this.catalogueLoaded) {
      const c = new Catalogue(this.backend, this.keys, this.cacheDir ? join(this.cacheDir, 'catalogue') : null);
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
    await backend.put(keyName, await wrapMaster(master, passphrase, config.id, options.kdfLogN), { ifAbsent: true });
    try {
      await backend.put('config', encodeConfig(keys.config, config), { ifAbsent: true });
    } catch (e) {
      await backend.delete(keyName);
      if (e instanceof ObjectExistsError) throw new StoreExistsError(backend.location);
      throw e;
    }
    return new Repository(backend, config, keys, storeCacheDir(cacheRoot, config.id));
  }

  /** `config`: the store's config when the caller began reading it already (see readConfig). */
  static async open(backend: Backend, passphrase: string, cacheRoot: string | null, warn: Warn = () => undefined, config: Promise<StoredConfig> = readConfig(backend)): Promise<Repository> {
    const stored = await config;
    const { master } = await unlock(backend, passphrase, stored, warn);
    const keys = deriveKeys(master);
    return new Repository(backend, stored, keys, storeCacheDir(cacheRoot, stored.id), warn);
  }
}

/** The store's config, shape and version checked (its MAC is checked with each key tried, in unlock). */
export async function readConfig(backend: Backend): Promise<StoredConfig> {
  try {
    return parseConfig(await backend.get('config', { maxLength: CONFIG_MAX }));
  } catch (e) {
    if (e instanceof NotFoundError) throw new StoreNotFoundError(backend.location);
    throw e;
  }
}

/**
 * Tries every key file; the first the passphrase opens whose master secret also verifies the
 * config's MAC. A key file that cannot be used is skipped with a warning; one that opens but
 * fails the config is skipped like a wrong passphrase, so that a planted key file tells an
 * attacker nothing about the passphrase. An altered config therefore reads as a wrong passphrase.
 */
export async function unlock(backend: Backend, passphrase: string, config: StoredConfig, warn: Warn): Promise<{ key: string; master: Buffer }> {
  // In name order, as S3 lists them, so that every backend tries key files alike.
  const names: string[] = [];
  for await (const o of backend.list(KEYS_PREFIX)) names.push(o.key);
  for (const name of names.sort()) {
    let file;
    try {
      file = parseKeyFile(await backend.get(name, { maxLength: KEY_FILE_MAX }));
    } catch (e) {
      if (e instanceof NotFoundError) continue; // removed since listed (a concurrent key passwd)
      if (!(e instanceof CorruptDataError || e instanceof UnsupportedFormatError)) throw e;
      warn(`skipping key file ${name}: ${e.message}`);
      continue;
    }
    const master = await unwrapMaster(file, passphrase, config.id);
    if (master && configMacMatches(deriveKeys(master).config, config)) return { key: name, master };
  }
  throw new WrongPassphraseError();
}

/**
 * Wraps the master secret `found` opened under a new passphrase into a new key file, which
 * must open before `found.key` is removed: otherwise the store would be locked for good. No
 * data is re-encrypted. Resolves with the new key file's name.
 */
export async function changePassphrase(backend: Backend, found: { key: string; master: Buffer }, fresh: string, storeId: string, kdfLogN?: number): Promise<string> {
  const added = `${KEYS_PREFIX}${randomBytes(8).toString('hex')}`;
  await backend.put(added, await wrapMaster(found.master, fresh, storeId, kdfLogN), { ifAbsent: true });
  const check = await backend.get(added, { maxLength: KEY_FILE_MAX }).then((b) => unwrapMaster(parseKeyFile(b), fresh, storeId)).catch(() => null);
  if (!check?.equals(found.master)) {
    await backend.delete(added);
    throw new UsageError('the new key file did not read back correctly; the old passphrase still works');
  }
  await backend.delete(found.key);
  return added;
}
