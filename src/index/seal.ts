/**
 * Authenticity of an index tar (docs/FORMAT.md §7): its trailer ends with an HMAC, under the
 * key of whoever wrote it (its "sealer"), of the trailer bytes before it, which end with the
 * SHA-256 of every index byte before the trailer. Whoever can write an index file but lacks
 * the key can change it and recompute every checksum, but not this.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { NotAuthenticIndexError } from '../errors';
import type { IndexMeta, IndexTrailer } from './meta';

export const MAC_SIZE = 32;
/** The sealer of every index written with the passphrase. */
export const OWNER_SEALER = 'owner';
/** "owner", or a writer key's id (reserved for write-only keys: docs/FORMAT.md §3). */
const SEALER = /^(owner|writer:[0-9a-f]{16})$/;
const LABEL = Buffer.from('dtar-index-v2\0', 'latin1');

/** What a reader needs to authenticate the indexes of one store. */
export interface IndexAuth {
  /** The MAC key of indexes written by `sealer`. */
  sealerKey(sealer: string): Buffer;
  /** An index of format version 1, which has no MAC, is being read: say so (once per index). */
  unauthenticated(where: string): void;
}

/** `auth` for an index taken out of a stored copy, which its sealing already authenticates: no warning for format version 1. */
export function storedCopyAuth(auth: IndexAuth): IndexAuth {
  return { sealerKey: (sealer) => auth.sealerKey(sealer), unauthenticated: () => undefined };
}

export function isSealer(v: unknown): v is string {
  return typeof v === 'string' && SEALER.test(v);
}

export function indexMac(key: Buffer, covered: Buffer): Buffer {
  return createHmac('sha256', key).update(LABEL).update(covered).digest();
}

/**
 * Throws NotAuthenticIndexError unless the trailer's MAC is right for the header's sealer.
 * The trailer's checksum must already have been checked, so that damage is told apart
 * from a rewrite.
 */
export function authenticate(meta: IndexMeta, trailer: IndexTrailer, auth: IndexAuth, where: string): void {
  if (meta.version === 1 && !trailer.seal) return auth.unauthenticated(where);
  const seal = trailer.seal;
  if (!seal || meta.sealer === undefined) throw new NotAuthenticIndexError(where);
  if (!timingSafeEqual(indexMac(auth.sealerKey(meta.sealer), seal.covered), seal.mac)) throw new NotAuthenticIndexError(where);
}
