/**
 * What every command gets from the CLI: its streams and environment (injected, so tests can
 * run commands in-process), the global options, and the shared steps of opening a store.
 */
import type { Readable, Writable } from 'node:stream';
import { NoPassphraseError, UsageError, WriterKeyError } from '../errors';
import { LEGACY_LOG_N } from '../crypto/kdf';
import { beginListing, listStoredIndexes, StoredIndex } from '../index-source/stored';
import { Repository, defaultCacheDir, readConfig, storeCacheDir, Warn } from '../repo/repository';
import type { Backend } from '../store/backend';
import { defaultStoreDir, openBackend } from '../store/open';

export interface Progress {
  update(done: number, total: number | null, detail?: string): void;
  done(): void;
}

export interface Io {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
  /** Asks on the terminal without echo; only called when stdin is a terminal. */
  askHidden(prompt: string): Promise<string>;
  /** A progress display on stderr, or a silent one when stderr is not a terminal or --quiet. */
  progress(label: string): Progress;
  /** Closes `resource` once the command has finished (set by the CLI for each run). */
  closeAfter?(resource: { close(): Promise<void> }): void;
}

export interface StoreFlags {
  store?: string;
  s3Endpoint?: string;
  s3Region?: string;
  s3PathStyle?: boolean;
  cacheDir?: string;
}

export interface GlobalFlags {
  debug?: boolean;
  quiet?: boolean;
}

/** --store, then DTAR_STORE, then the store an index records, then the per-user default. */
export function storeLocation(io: Io, flags: StoreFlags, fromIndex?: string): string {
  return flags.store ?? io.env.DTAR_STORE ?? fromIndex ?? defaultStoreDir(io.env);
}

export function backendFor(io: Io, flags: StoreFlags, fromIndex?: string): Backend {
  const backend = openBackend(storeLocation(io, flags, fromIndex), {
    s3Endpoint: flags.s3Endpoint,
    s3Region: flags.s3Region,
    s3PathStyle: flags.s3PathStyle,
    env: io.env,
  });
  // Its cached file handles and connections go when the command ends, not when collected.
  io.closeAfter?.(backend);
  return backend;
}

export async function passphrase(io: Io, confirm = false): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const file = io.env.DTAR_PASSWORD_FILE;
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read DTAR_PASSWORD_FILE ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const p = text.replace(/\r?\n$/, '');
    if (p === '') throw new UsageError(`DTAR_PASSWORD_FILE ${file} is empty`);
    return p;
  }
  if (io.env.DTAR_PASSWORD) return io.env.DTAR_PASSWORD;
  // A machine set up to back up with a writer key has no passphrase, and nothing else opens the store.
  if (!io.stdinIsTTY && io.env.DTAR_KEY_FILE) throw new WriterKeyError('this command needs the passphrase: the writer key in DTAR_KEY_FILE only lets dtar ingest add to the store');
  if (!io.stdinIsTTY) throw new NoPassphraseError();
  const p = await io.askHidden('passphrase: ');
  if (p === '') throw new UsageError('empty passphrase');
  if (confirm && (await io.askHidden('passphrase again: ')) !== p) throw new UsageError('the passphrases do not match');
  return p;
}

export function cacheRoot(io: Io, flags: StoreFlags): string {
  return flags.cacheDir ?? defaultCacheDir(io.env);
}

/** A warning: one line on stderr, as errors are. */
export function warner(io: Io): Warn {
  return (line) => io.stderr.write(`dtar: ${line}\n`);
}

/**
 * The scrypt cost of key files that init and key passwd write: the default, or for test
 * suites (DTAR_TEST_FAST_KDF=1) the cost key files had before version 2, which readers still
 * accept, so that the hundreds of stores a test suite opens stay fast (docs/COMMANDS.md).
 */
export function kdfLogN(io: Io): number | undefined {
  return io.env.DTAR_TEST_FAST_KDF === '1' ? LEGACY_LOG_N : undefined;
}

export async function openRepository(io: Io, flags: StoreFlags, fromIndex?: string): Promise<Repository> {
  const backend = backendFor(io, flags, fromIndex);
  return Repository.open(backend, await passphrase(io), cacheRoot(io, flags), warner(io));
}

/**
 * openRepository for a command that lists the stored copies (archives, the whole-store
 * mount): the listing, the heads cache and the heads it lacks are read while the key is
 * derived, as none of them needs the key until their metadata is opened.
 */
export async function openRepositoryListing(io: Io, flags: StoreFlags): Promise<{ repo: Repository; stored: StoredIndex[] }> {
  const backend = backendFor(io, flags);
  const pass = await passphrase(io);
  const root = cacheRoot(io, flags);
  const config = readConfig(backend);
  const begun = beginListing(backend, config.then((c) => storeCacheDir(root, c.id)));
  begun.catch(() => undefined); // when the store does not open, its error is the one reported
  const repo = await Repository.open(backend, pass, root, warner(io), config);
  return { repo, stored: await listStoredIndexes(repo, begun) };
}
