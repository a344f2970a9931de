/**
 * openBackend: turns the store location a user gives (a path, a file:// URL or an s3:// URL)
 * into a Backend, and knows the per-user default store directory. The only module that
 * builds concrete backends; everything else sees the Backend interface.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors';
import type { Backend } from './backend';
import { LocalBackend } from './local';

export function openBackend(location: string): Backend {
  if (location === '') throw new UsageError('empty store location');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) return new LocalBackend(location);
  if (scheme === 'file') {
    let dir: string;
    try {
      dir = fileURLToPath(location);
    } catch (err) {
      throw new UsageError(`bad file URL ${location}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return new LocalBackend(dir, location);
  }
  throw new UsageError(`unsupported store location ${location}: expected a directory, file:// or s3:// URL`);
}

/**
 * The per-user store directory: $XDG_DATA_HOME/dtar/store, else ~/.local/share/dtar/store.
 * ($DTAR_STORE, which overrides it, is the caller's business.)
 */
export function defaultStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_DATA_HOME'];
  // The XDG spec says relative values are invalid and must be ignored.
  if (xdg !== undefined && path.isAbsolute(xdg)) return path.join(xdg, 'dtar', 'store');
  const home = env['HOME'] !== undefined && env['HOME'] !== '' ? env['HOME'] : os.homedir();
  return path.join(home, '.local', 'share', 'dtar', 'store');
}
