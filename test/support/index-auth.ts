/** The index authenticator a command gets from its store, for tests that read indexes in-process. */
import type { IndexAuth } from '../../src/index/seal';
import { Repository } from '../../src/repo/repository';
import type { Backend } from '../../src/store/backend';
import { openBackend } from '../../src/store/open';

export async function indexAuth(store: string | Backend, passphrase: string): Promise<IndexAuth> {
  const backend = typeof store === 'string' ? openBackend(store) : store;
  return (await Repository.open(backend, passphrase, null)).indexAuth;
}
