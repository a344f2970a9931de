/**
 * Sealing to the store's public key (docs/FORMAT.md §3, "Sealed to the store"): what a writer
 * key does instead of using the data key, which it does not have. The writer makes an
 * ephemeral X25519 key pair, agrees a secret with the store's public key, and derives the
 * AES-256-GCM keys of what it seals from it with HKDF; it keeps only the ephemeral public
 * half, written beside what it sealed. Only the store's private key (derived from the master
 * secret) agrees the same secret again, so only the passphrase holder opens it.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, KeyObject } from 'node:crypto';
import { CorruptDataError } from '../errors';

export const X25519_KEY_SIZE = 32;

/** DER prefixes that wrap a raw X25519 key for Node's crypto (RFC 8410). */
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');

/** What a key derived from one agreement is for: each kind of object gets its own key. */
export type SealedKind = 'chunks' | 'brick-table' | 'catalogue' | 'index-copy';

function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([X25519_SPKI, raw]), format: 'der', type: 'spki' });
}

function privateKeyObject(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([X25519_PKCS8, raw]), format: 'der', type: 'pkcs8' });
}

function rawPublic(key: KeyObject): Buffer {
  const spki = key.export({ type: 'spki', format: 'der' });
  if (!spki.subarray(0, X25519_SPKI.length).equals(X25519_SPKI)) throw new Error('unexpected X25519 public key encoding');
  return Buffer.from(spki.subarray(X25519_SPKI.length));
}

/** The raw public half of a raw X25519 private key. */
export function x25519PublicKey(privateKey: Buffer): Buffer {
  return rawPublic(createPublicKey(privateKeyObject(privateKey)));
}

/** HKDF-SHA256(shared, salt = ephemeral public | store public, info "dtar-sealed-v1 <kind>"). */
function derive(shared: Buffer, ephemeral: Buffer, storePublic: Buffer, kind: SealedKind): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeral, storePublic]), `dtar-sealed-v1 ${kind}`, 32));
}

/** One agreement made by a writer: its ephemeral public key, and the keys derived from it. */
export interface StoreSealing {
  readonly ephemeral: Buffer;
  key(kind: SealedKind): Buffer;
}

/** A fresh ephemeral agreement with the store's public key; its private half is forgotten once this is collected. */
export function sealToStore(storePublic: Buffer): StoreSealing {
  const pair = generateKeyPairSync('x25519');
  const ephemeral = rawPublic(pair.publicKey);
  const shared = diffieHellman({ privateKey: pair.privateKey, publicKey: publicKeyObject(storePublic) });
  return { ephemeral, key: (kind) => derive(shared, ephemeral, storePublic, kind) };
}

/**
 * The key a writer derived for `kind` with `ephemeral`, agreed again with the store's
 * private key. `where` names the object in the error for an ephemeral key that no agreement
 * accepts (a low-order point: damage or forgery, never what a writer wrote).
 */
export function openedFromStore(storePrivate: Buffer, ephemeral: Uint8Array, kind: SealedKind, where: string): Buffer {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: privateKeyObject(storePrivate), publicKey: publicKeyObject(ephemeral) });
  } catch {
    throw new CorruptDataError(`${where}: not sealed to this store (its ephemeral key is not valid)`);
  }
  return derive(shared, Buffer.from(ephemeral), x25519PublicKey(storePrivate), kind);
}
