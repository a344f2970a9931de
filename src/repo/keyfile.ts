/**
 * Key files (`keys/<id>`): the master secret wrapped by a key derived from a passphrase.
 * A store may hold several (one per passphrase); changing the passphrase writes a new key
 * file and removes the old one, without touching any data.
 *
 * Anyone who can write to the store can plant a key file, so reading one trusts nothing
 * in it: parameters out of the range dtar writes make it unusable (the caller skips it),
 * and version 2 commits to its key-encryption key, so that one planted ciphertext cannot
 * be built to open under many guessed passphrases (AES-GCM alone is not key-committing).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { seal, tryOpen } from '../crypto/aead';
import { deriveKek, newScryptParams, ScryptParams, scryptParamsProblem } from '../crypto/kdf';
import { MASTER_SECRET_SIZE } from '../crypto/keys';
import { CorruptDataError, UnsupportedFormatError } from '../errors';

export const KEYS_PREFIX = 'keys/';
/** Most bytes read as a key file: dtar writes under 1 KiB. */
export const KEY_FILE_MAX = 64 * 1024;
const KEYFILE_VERSION = 2;
/** Opened with a passphrase, holds the master secret. Issue 23 reserves "writer" (docs/FORMAT.md §3). */
const OWNER = 'owner';

/** Version 2 as stored; version 1 lacks `kind` and `commitment`. */
interface StoredKeyFile {
  version: number;
  kind: typeof OWNER;
  created: string;
  kdf: ScryptParams;
  /** base64 of HMAC-SHA256(KEK, label): binds the file to the one KEK that opens it. */
  commitment: string;
  /** base64 of seal(KEK, master secret, label) */
  wrapped: string;
}

/** A key file whose shape and parameters were checked. */
export interface KeyFile {
  version: 1 | 2;
  kdf: ScryptParams;
  wrapped: Buffer;
  /** Null for version 1. */
  commitment: Buffer | null;
}

function label(version: 1 | 2, storeId: string): Buffer {
  return Buffer.from(version === 1 ? `dtar-key-v1 ${storeId}` : `dtar-key-v2 ${OWNER} ${storeId}`);
}

function commitment(kek: Buffer, storeId: string): Buffer {
  return createHmac('sha256', kek).update('commitment ').update(label(2, storeId)).digest();
}

/** A new key file for `master`, at scrypt cost 2^logN. */
export async function wrapMaster(master: Buffer, passphrase: string, storeId: string, logN?: number): Promise<Buffer> {
  const kdf = newScryptParams(logN);
  const kek = await deriveKek(passphrase, kdf);
  const file: StoredKeyFile = {
    version: KEYFILE_VERSION,
    kind: OWNER,
    created: new Date().toISOString(),
    kdf,
    commitment: commitment(kek, storeId).toString('base64'),
    wrapped: seal(kek, master, label(2, storeId)).toString('base64'),
  };
  return Buffer.from(JSON.stringify(file, null, 2) + '\n');
}

/** Checks shape, version and parameters; throws a DtarError saying why the file cannot be used. */
export function parseKeyFile(bytes: Buffer): KeyFile {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new CorruptDataError('not valid JSON');
  }
  const f = v as Partial<StoredKeyFile> | null;
  if (typeof f !== 'object' || f === null || !('version' in f)) throw new CorruptDataError('not a dtar key file');
  if (f.version !== 1 && f.version !== KEYFILE_VERSION) throw new UnsupportedFormatError('the key file', f.version);
  if (f.version === KEYFILE_VERSION && f.kind !== OWNER) throw new CorruptDataError(`a key of kind ${JSON.stringify(f.kind)}, which no passphrase opens`);
  if (typeof f.wrapped !== 'string') throw new CorruptDataError('not a dtar key file');
  const problem = scryptParamsProblem(f.kdf);
  if (problem) throw new CorruptDataError(problem);
  const wrapped = Buffer.from(f.wrapped, 'base64');
  if (f.version === 1) return { version: 1, kdf: f.kdf!, wrapped, commitment: null };
  const c = typeof f.commitment === 'string' ? Buffer.from(f.commitment, 'base64') : null;
  if (c?.length !== 32) throw new CorruptDataError('malformed key commitment');
  return { version: 2, kdf: f.kdf!, wrapped, commitment: c };
}

/** The master secret, or null when the passphrase does not open this key file. */
export async function unwrapMaster(file: KeyFile, passphrase: string, storeId: string): Promise<Buffer | null> {
  const kek = await deriveKek(passphrase, file.kdf);
  if (file.commitment && !timingSafeEqual(commitment(kek, storeId), file.commitment)) return null;
  const master = tryOpen(kek, file.wrapped, label(file.version, storeId));
  return master?.length === MASTER_SECRET_SIZE ? master : null;
}
