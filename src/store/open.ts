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
import { ConcurrencyLimit } from './limit';
import { LocalBackend } from './local';
import { RetryBackend } from './retry';
import type { S3UrlFlags } from './s3';

export interface OpenOptions {
  /** --s3-endpoint; overrides AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL. */
  s3Endpoint?: string;
  /** --s3-region; overrides AWS_REGION / AWS_DEFAULT_REGION. */
  s3Region?: string;
  /** --s3-path-style; default: path style for IP-address and localhost endpoints only. */
  s3PathStyle?: boolean;
  /** Environment to read AWS_* variables from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * A path or file:// URL opens a LocalBackend; s3://BUCKET/PREFIX an S3Backend behind retries
 * and a concurrency limit (outermost, so a request sleeping between retries holds its slot).
 */
export function openBackend(location: string, opts: OpenOptions = {}): Backend {
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
  if (scheme === 's3') {
    const flags: S3UrlFlags = {};
    if (opts.s3Endpoint !== undefined) flags.endpoint = opts.s3Endpoint;
    if (opts.s3Region !== undefined) flags.region = opts.s3Region;
    if (opts.s3PathStyle !== undefined) flags.pathStyle = opts.s3PathStyle;
    // Loaded on demand: the AWS SDK takes a noticeable part of a second to load.
    const { S3Backend, s3OptionsFromUrl } = require('./s3') as typeof import('./s3');
    const s3 = new S3Backend(s3OptionsFromUrl(location, opts.env ?? process.env, flags));
    return new ConcurrencyLimit(new RetryBackend(s3));
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
