/**
 * Typed errors. Every failure a user can cause or meet is one of these: the CLI maps
 * `exitCode` to the process exit status and prints `message` as one line.
 * Exit codes (README): 0 ok, 1 damage found, 2 usage or input error, 3 store or
 * key problem, 4 data not yet readable (archived in Glacier), 5 internal error.
 * A name from an archive enters a message only through escapeName (names.ts).
 */
import { escapeName } from './names';

export { escapeDecoded, escapeName, jsonText } from './names';

export type ErrorCode =
  | 'USAGE'
  | 'BAD_TAR'
  | 'BAD_INDEX'
  | 'NOT_AUTHENTIC'
  | 'UNSUPPORTED_FORMAT'
  | 'STORE_NOT_FOUND'
  | 'STORE_EXISTS'
  | 'WRONG_PASSPHRASE'
  | 'NO_PASSPHRASE'
  | 'WRONG_STORE'
  | 'NOT_FOUND'
  | 'CORRUPT'
  | 'ARCHIVED'
  | 'BACKEND'
  | 'UNSAFE_PATH'
  | 'DAMAGE_FOUND'
  | 'STORE_LOCKED'
  | 'PRUNED';

export class DtarError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.exitCode = exitCode;
    this.name = new.target.name;
  }

  /** The same error (same class, code and exit code) with `context: ` before its message. */
  withContext(context: string): this {
    const copy = Object.create(Object.getPrototypeOf(this) as object) as this;
    Object.assign(copy, this);
    Object.defineProperty(copy, 'message', { value: `${context}: ${this.message}`, enumerable: false, writable: true });
    Object.defineProperty(copy, 'stack', { value: this.stack, enumerable: false, writable: true });
    return copy;
  }
}

/** Wrong command-line use: bad flags, missing arguments. */
export class UsageError extends DtarError {
  constructor(message: string) {
    super('USAGE', message, 2);
  }
}

/** The input is not a tar stream we can read exactly, or is truncated. */
export class BadTarError extends DtarError {
  /** Byte offset in the (uncompressed) input where the problem was found. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super('BAD_TAR', `${message} (at byte ${offset})`, 2);
    this.offset = offset;
  }
}

/** An index tar that is damaged, truncated, or not a dtar index. */
export class BadIndexError extends DtarError {
  constructor(message: string) {
    super('BAD_INDEX', message, 2);
  }
}

/**
 * An index whose checksum holds but whose MAC does not: rewritten by someone without the
 * store's key. Exit 1, as for data that fails authentication in the store.
 */
export class NotAuthenticIndexError extends DtarError {
  constructor(where: string) {
    super('NOT_AUTHENTIC', `${where} is not an authentic index of this store`, 1);
  }
}

/** A format version this build does not know (written by a newer dtar). */
export class UnsupportedFormatError extends DtarError {
  constructor(
    readonly what: string,
    readonly version: unknown,
  ) {
    super('UNSUPPORTED_FORMAT', `${what} has format version ${String(version)}, which this dtar does not support; upgrade dtar`, 2);
  }
}

/**
 * The version in a binary format's magic (docs/FORMAT.md): `magic` is the newest this dtar
 * reads, its byte at `versionAt` the version as an ASCII digit. Null when `bytes` do not start
 * with that magic in any version; UnsupportedFormatError for a higher version (a newer dtar's).
 */
export function magicVersion(bytes: Uint8Array, magic: Uint8Array, versionAt: number, what: () => string): number | null {
  if (bytes.length < magic.length) return null;
  for (let i = 0; i < magic.length; i++) if (i !== versionAt && bytes[i] !== magic[i]) return null;
  const version = bytes[versionAt]! - 0x30;
  if (version < 1 || version > 9) return null;
  if (version > magic[versionAt]! - 0x30) throw new UnsupportedFormatError(what(), version);
  return version;
}

export class StoreNotFoundError extends DtarError {
  constructor(location: string) {
    super('STORE_NOT_FOUND', `no dtar store at ${escapeName(location)}; create one with 'dtar init --store ${escapeName(location)}'`, 3);
  }
}

export class StoreExistsError extends DtarError {
  constructor(location: string) {
    super('STORE_EXISTS', `a dtar store already exists at ${escapeName(location)}`, 3);
  }
}

export class WrongPassphraseError extends DtarError {
  constructor() {
    super('WRONG_PASSPHRASE', 'wrong passphrase: no key in this store opens with it', 3);
  }
}

export class NoPassphraseError extends DtarError {
  constructor() {
    super('NO_PASSPHRASE', 'no passphrase: set DTAR_PASSWORD_FILE or DTAR_PASSWORD, or run on a terminal to be asked', 2);
  }
}

/** The index belongs to another store than the one opened. */
export class WrongStoreError extends DtarError {
  constructor(message: string) {
    super('WRONG_STORE', message, 3);
  }
}

/** An object the store should hold is missing. */
export class NotFoundError extends DtarError {
  readonly key: string;
  constructor(key: string, message?: string) {
    super('NOT_FOUND', message ?? `missing from the store: ${key}`, 1);
    this.key = key;
  }
}

/** Data failed authentication or a checksum: it must not be used. */
export class CorruptDataError extends DtarError {
  constructor(message: string) {
    super('CORRUPT', message, 1);
  }
}

/** The object sits in a Glacier class and has no readable restored copy yet. */
export class ArchivedError extends DtarError {
  readonly key: string;
  constructor(key: string) {
    super('ARCHIVED', `brick ${key} is archived (Glacier) and not yet thawed`, 4);
    this.key = key;
  }
}

/** The storage backend failed after retries (network, permissions, server errors). */
export class BackendError extends DtarError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKEND', message, 3, options);
  }
}

/** An archive entry would be written outside the extraction directory. `shown` is its name as escapeName shows it. */
export class UnsafePathError extends DtarError {
  constructor(shown: string, why: string) {
    super('UNSAFE_PATH', `refusing "${shown}": ${why}`, 2);
  }
}

/** A check (verify) found damage; the report was already printed. */
export class DamageFoundError extends DtarError {
  constructor(message: string) {
    super('DAMAGE_FOUND', message, 1);
  }
}

/** put() with ifAbsent met an existing object. */
export class ObjectExistsError extends DtarError {
  readonly key: string;
  constructor(key: string) {
    super('STORE_EXISTS', `object already exists: ${key}`, 3);
    this.key = key;
  }
}

/** Another dtar holds a lock that conflicts (src/repo/lock.ts), or this one lost its own. */
export class StoreLockedError extends DtarError {
  constructor(message: string) {
    super('STORE_LOCKED', message, 3);
  }
}

/** A brick an index needs was deleted by `prune` after its archive was forgotten: not damage. */
export class PrunedError extends DtarError {
  constructor(message: string) {
    super('PRUNED', message, 3);
  }
}

/** The code of a failed system call ("ENOENT"), or of any error that carries one. */
export function errnoCode(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * What a failed system call says, without Node's code and call: "no such file or directory"
 * from "ENOENT: no such file or directory, open '/x'". Null for anything but a system error.
 */
export function systemErrorReason(e: unknown): string | null {
  const err = e as NodeJS.ErrnoException;
  if (errnoCode(e) === undefined || !err.syscall) return null;
  return /^[A-Z0-9_]+: (.*?), \w+/.exec(err.message)?.[1] ?? err.message;
}
