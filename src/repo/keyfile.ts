/**
 * Key files (`keys/<id>`): the master secret wrapped by a key derived from a passphrase.
 * A store may hold several (one per passphrase); changing the passphrase writes a new key
 * file and removes the old one, without touching any data.
 */
import { seal, tryOpen } from '../crypto/aead';
import { deriveKek, newScryptParams, ScryptParams } from '../crypto/kdf';
import { MASTER_SECRET_SIZE } from '../crypto/keys';
import { CorruptDataError, UnsupportedFormatError } from '../errors';

export const KEYS_PREFIX = 'keys/';
/** Most bytes read as a key file: dtar writes under 1 KiB. */
export const KEY_FILE_MAX = 64 * 1024;
const KEYFILE_VERSION = 1;

interface KeyFile {
  version: number;
  created: string;
  kdf: ScryptParams;
  /** base64 of seal(kek, master secret, "dtar-key-v1" + store id) */
  wrapped: string;
}

function aad(storeId: string): Buffer {
  return Buffer.from(`dtar-key-v1 ${storeId}`);
}

export async function wrapMaster(master: Buffer, passphrase: string, storeId: string): Promise<Buffer> {
  const kdf = newScryptParams();
  const kek = await deriveKek(passphrase, kdf);
  const file: KeyFile = { version: KEYFILE_VERSION, created: new Date().toISOString(), kdf, wrapped: seal(kek, master, aad(storeId)).toString('base64') };
  return Buffer.from(JSON.stringify(file, null, 2) + '\n');
}

/** Returns the master secret, or null when the passphrase does not open this key file. */
export async function unwrapMaster(bytes: Buffer, passphrase: string, storeId: string, where: string): Promise<Buffer | null> {
  let file: KeyFile;
  try {
    file = JSON.parse(bytes.toString('utf8')) as KeyFile;
  } catch {
    throw new CorruptDataError(`${where}: key file is not valid JSON`);
  }
  if (file.version !== KEYFILE_VERSION) throw new UnsupportedFormatError(`key file ${where}`, file.version);
  let kek: Buffer;
  try {
    kek = await deriveKek(passphrase, file.kdf);
  } catch {
    throw new CorruptDataError(`${where}: key file has unusable key derivation parameters`);
  }
  const master = tryOpen(kek, Buffer.from(file.wrapped, 'base64'), aad(storeId));
  if (master && master.length !== MASTER_SECRET_SIZE) throw new CorruptDataError(`${where}: wrapped key has the wrong size`);
  return master;
}
