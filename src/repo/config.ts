/**
 * The store config object (`config`): plaintext JSON that says what the store is and how
 * it cuts and packs data, authenticated with a MAC under a key derived from the master
 * secret (so that nobody with write access to the bucket can weaken, say, the chunker
 * without the passphrase). Unknown format versions are refused.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ChunkerParams, validateChunkerParams } from '../chunk/chunker';
import { CorruptDataError, UnsupportedFormatError } from '../errors';

export const STORE_FORMAT = 'dtar-store';
export const STORE_VERSION = 1;
/** Most bytes read as a config: dtar writes under 1 KiB. */
export const CONFIG_MAX = 64 * 1024;

export interface StoreConfig {
  format: typeof STORE_FORMAT;
  version: number;
  /** 32 hex digits, random. */
  id: string;
  created: string;
  chunker: ChunkerParams & { algorithm: 'fastcdc-gear32'; keyed: boolean };
  /** Target brick size in bytes. */
  brickSize: number;
}

export interface StoredConfig extends StoreConfig {
  /** HMAC-SHA256 over the canonical JSON of the other fields, base64. */
  mac: string;
}

function canonical(c: StoreConfig): string {
  const { format, version, id, created, chunker, brickSize } = c;
  return JSON.stringify({
    format,
    version,
    id,
    created,
    chunker: { algorithm: chunker.algorithm, keyed: chunker.keyed, min: chunker.min, avg: chunker.avg, max: chunker.max },
    brickSize,
  });
}

/** SHA-256 of the config's canonical JSON: how a writer key, which cannot check its MAC, knows the config it was made for. */
export function configDigest(c: StoreConfig): Buffer {
  return createHash('sha256').update(canonical(c)).digest();
}

export function configMac(macKey: Buffer, c: StoreConfig): string {
  return createHmac('sha256', macKey).update(canonical(c)).digest('base64');
}

export function encodeConfig(macKey: Buffer, c: StoreConfig): Buffer {
  const stored: StoredConfig = { ...JSON.parse(canonical(c)) as StoreConfig, mac: configMac(macKey, c) };
  return Buffer.from(JSON.stringify(stored, null, 2) + '\n');
}

/** Parses and checks the shape and version; the MAC is checked with each key tried (repository.ts, unlock). */
export function parseConfig(bytes: Buffer): StoredConfig {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new CorruptDataError('store config is not valid JSON');
  }
  if (typeof v !== 'object' || v === null || (v as { format?: unknown }).format !== STORE_FORMAT) {
    throw new CorruptDataError('store config is not a dtar store config');
  }
  const c = v as StoredConfig;
  if (c.version !== STORE_VERSION) throw new UnsupportedFormatError('the store', c.version);
  if (typeof c.id !== 'string' || !/^[0-9a-f]{32}$/.test(c.id) || typeof c.mac !== 'string' || typeof c.brickSize !== 'number') {
    throw new CorruptDataError('store config is malformed');
  }
  const ch = c.chunker as Partial<StoreConfig['chunker']> | undefined;
  if (!ch || ch.algorithm !== 'fastcdc-gear32' || typeof ch.keyed !== 'boolean') throw new CorruptDataError('store config names an unknown chunker');
  try {
    validateChunkerParams(ch as ChunkerParams);
  } catch (e) {
    throw new CorruptDataError(`store config: ${(e as Error).message}`);
  }
  if (!(c.brickSize >= 1024 * 1024 && c.brickSize <= 1024 * 1024 * 1024)) throw new CorruptDataError('store config: brick size out of range');
  return c;
}

/** Whether the config's MAC holds under `macKey`: a key is accepted only when it does. */
export function configMacMatches(macKey: Buffer, c: StoredConfig): boolean {
  const want = Buffer.from(configMac(macKey, c), 'base64');
  const got = Buffer.from(c.mac, 'base64');
  return want.length === got.length && timingSafeEqual(want, got);
}
