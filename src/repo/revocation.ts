/**
 * Revoked writer keys (`revoked/<16 hex>`, docs/FORMAT.md §3): `dtar key revoke-writer`
 * writes one, and ingest with that writer key then refuses to start. Unauthenticated on
 * purpose: the writer could not check a MAC (it has no key of the owner's), planting one
 * only stops a writer (which store write access allows anyway), and removing one takes
 * DeleteObject, which a writer machine's credentials lack (docs/S3.md). It stops a writer
 * that runs dtar; it cannot stop a thief with the key and store credentials, who runs
 * what they like: for that, revoke the machine's store credentials.
 */
import type { Backend } from '../store/backend';
import { ObjectExistsError } from '../errors';

export const REVOKED_PREFIX = 'revoked/';

function revocationKey(sealer: string): string {
  return `${REVOKED_PREFIX}${sealer.slice('writer:'.length)}`;
}

/** Records `sealer` (a writer key's, "writer:<16 hex>") as revoked; false when it already was. */
export async function revokeWriter(backend: Backend, sealer: string): Promise<boolean> {
  const body = Buffer.from(JSON.stringify({ version: 1, sealer, revoked: new Date().toISOString() }) + '\n');
  try {
    await backend.put(revocationKey(sealer), body, { ifAbsent: true });
    return true;
  } catch (e) {
    if (e instanceof ObjectExistsError) return false;
    throw e;
  }
}

/**
 * Whether `sealer` has been revoked. A listing of its own key, not a HEAD: S3 answers a HEAD
 * of a missing object with 403 to whoever may not list the whole bucket, and a writer
 * machine may list only `catalogue/` and `revoked/` (docs/S3.md).
 */
export async function isRevoked(backend: Backend, sealer: string): Promise<boolean> {
  const key = revocationKey(sealer);
  for await (const o of backend.list(key)) if (o.key === key) return true;
  return false;
}
