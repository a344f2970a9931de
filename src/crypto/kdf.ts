/**
 * Passphrase -> key-encryption key, with scrypt. The parameters are stored beside each
 * wrapped key so that they can be raised later without breaking older key files; a reader
 * accepts only the range dtar writes, because a key file is read from the store, where
 * anyone with write access could plant one that costs gigabytes and minutes to try.
 */
import { randomBytes, scrypt } from 'node:crypto';

export interface ScryptParams {
  name: 'scrypt';
  /** log2 of the CPU/memory cost N. */
  logN: number;
  r: number;
  p: number;
  /** base64 */
  salt: string;
}

/** What new key files use: 2^17 * 8 * 128 = 128 MiB per derivation (OWASP's minimum for scrypt; its time: docs/FORMAT.md). */
export const KDF_LOG_N = 17;
/** The cost of every key file before key file version 2: still accepted, and what DTAR_TEST_FAST_KDF writes. */
export const LEGACY_LOG_N = 15;
/** The most a key file may ask for (1 GiB, a few seconds): room to raise the cost, no more. */
const MAX_LOG_N = 20;
const R = 8;
const SALT_BYTES = 16;

export function newScryptParams(logN = KDF_LOG_N): ScryptParams {
  return { name: 'scrypt', logN, r: R, p: 1, salt: randomBytes(SALT_BYTES).toString('base64') };
}

/** Why `v` is not parameters dtar would write, or null when it is. */
export function scryptParamsProblem(v: unknown): string | null {
  const k = v as Partial<ScryptParams> | null;
  if (typeof k !== 'object' || k === null || k.name !== 'scrypt') return 'unknown key derivation';
  if (!(Number.isInteger(k.logN) && k.logN! >= LEGACY_LOG_N && k.logN! <= MAX_LOG_N) || k.r !== R || k.p !== 1) {
    return `scrypt parameters out of bounds (logN ${LEGACY_LOG_N}-${MAX_LOG_N}, r ${R}, p 1 accepted)`;
  }
  if (typeof k.salt !== 'string' || Buffer.from(k.salt, 'base64').length !== SALT_BYTES) return 'malformed salt';
  return null;
}

/** The key-encryption key; `params` must have passed scryptParamsProblem. */
export function deriveKek(passphrase: string, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.logN;
  return new Promise((resolve, reject) => {
    scrypt(
      passphrase.normalize('NFC'),
      Buffer.from(params.salt, 'base64'),
      32,
      { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 64 * 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}
