/**
 * Passphrase -> key-encryption key, with scrypt. The parameters are stored beside each
 * wrapped key so that they can be raised later without breaking older key files.
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

/** 2^15 * 8 * 128 = 32 MiB and ~0.1 s per derivation: slows guessing without slowing use. */
export function newScryptParams(): ScryptParams {
  return { name: 'scrypt', logN: 15, r: 8, p: 1, salt: randomBytes(16).toString('base64') };
}

const MAX_LOG_N = 22;

export function deriveKek(passphrase: string, params: ScryptParams): Promise<Buffer> {
  if (params.name !== 'scrypt' || !(params.logN >= 10 && params.logN <= MAX_LOG_N) || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) {
    return Promise.reject(new Error(`unsupported key derivation parameters`));
  }
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
