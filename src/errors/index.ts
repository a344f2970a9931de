/**
 * Typed errors, all of them here. Every failure a user can cause or meet is one of these: the
 * CLI prints `message` as one line and exits with `exitCode`, which follows from the error's
 * category (EXIT_CODES; the table users script on is docs/COMMANDS.md, "Exit codes").
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
  | 'OBJECT_EXISTS'
  | 'WRONG_PASSPHRASE'
  | 'NO_PASSPHRASE'
  | 'WRITER_KEY'
  | 'WRONG_STORE'
  | 'NOT_FOUND'
  | 'CORRUPT'
  | 'ARCHIVED'
  | 'BACKEND'
  | 'UNSAFE_PATH'
  | 'DAMAGE_FOUND'
  | 'STORE_LOCKED'
  | 'PRUNED';

/**
 * What kind of failure: damage (missing, corrupt or forged data: never turned into wrong
 * output), input (usage, unreadable input, refused members, newer formats), store (no store,
 * wrong key, unreachable backend), archived (in Glacier, thaw first).
 */
export type ErrorCategory = 'damage' | 'input' | 'store' | 'archived';

/** The exit code of each category (docs/COMMANDS.md); 0 is success and 5 a bug, which no DtarError is. */
export const EXIT_CODES: Readonly<Record<ErrorCategory, number>> = { damage: 1, input: 2, store: 3, archived: 4 };

const CATEGORIES: Readonly<Record<ErrorCode, ErrorCategory>> = {
  USAGE: 'input',
  BAD_TAR: 'input',
  BAD_INDEX: 'input',
  NOT_AUTHENTIC: 'damage',
  UNSUPPORTED_FORMAT: 'input',
  STORE_NOT_FOUND: 'store',
  STORE_EXISTS: 'store',
  OBJECT_EXISTS: 'store',
  WRONG_PASSPHRASE: 'store',
  WRITER_KEY: 'store',
  STORE_LOCKED: 'store',
  PRUNED: 'store',
  NO_PASSPHRASE: 'input',
  WRONG_STORE: 'store',
  NOT_FOUND: 'damage',
  CORRUPT: 'damage',
  ARCHIVED: 'archived',
  BACKEND: 'store',
  UNSAFE_PATH: 'input',
  DAMAGE_FOUND: 'damage',
};

export class DtarError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  get category(): ErrorCategory {
    return CATEGORIES[this.code];
  }

  get exitCode(): number {
    return EXIT_CODES[this.category];
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
    super('USAGE', message);
  }
}

/** The input is not a tar stream we can read exactly, or is truncated. */
export class BadTarError extends DtarError {
  /** Byte offset in the (uncompressed) input where the problem was found. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super('BAD_TAR', `${message} (at byte ${offset})`);
    this.offset = offset;
  }
}

/** An index tar that is damaged, truncated, or not a dtar index. */
export class BadIndexError extends DtarError {
  constructor(message: string) {
    super('BAD_INDEX', message);
  }
}

/**
 * An index whose checksum holds but whose MAC does not: rewritten by someone without the
 * store's key. Damage, as data that fails authentication in the store is.
 */
export class NotAuthenticIndexError extends DtarError {
  constructor(where: string) {
    super('NOT_AUTHENTIC', `${where} is not an authentic index of this store`);
  }
}

/** A format version this build does not know (written by a newer dtar). */
export class UnsupportedFormatError extends DtarError {
  constructor(
    readonly what: string,
    readonly version: unknown,
  ) {
    super('UNSUPPORTED_FORMAT', `${what} has format version ${String(version)}, which this dtar does not support; upgrade dtar`);
  }
}

/** Repair left objects of a newer format alone; each was reported already. */
export class NewerFormatsLeftError extends DtarError {
  constructor(n: number) {
    super('UNSUPPORTED_FORMAT', `${n} catalogue segments or bricks are of a newer format and were left alone (see above); upgrade dtar`);
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
    super('STORE_NOT_FOUND', `no dtar store at ${escapeName(location)}; create one with 'dtar init --store ${escapeName(location)}'`);
  }
}

export class StoreExistsError extends DtarError {
  constructor(location: string) {
    super('STORE_EXISTS', `a dtar store already exists at ${escapeName(location)}`);
  }
}

export class WrongPassphraseError extends DtarError {
  constructor() {
    super('WRONG_PASSPHRASE', 'wrong passphrase: no key in this store opens with it');
  }
}

export class NoPassphraseError extends DtarError {
  constructor() {
    super('NO_PASSPHRASE', 'no passphrase: set DTAR_PASSWORD_FILE or DTAR_PASSWORD, or run on a terminal to be asked');
  }
}

/** A writer key cannot do what was asked: it was revoked, or a command needs the passphrase (docs/COMMANDS.md, "Writer keys"). */
export class WriterKeyError extends DtarError {
  constructor(message: string) {
    super('WRITER_KEY', message);
  }
}

/** The index belongs to another store than the one opened. */
export class WrongStoreError extends DtarError {
  constructor(message: string) {
    super('WRONG_STORE', message);
  }
}

/** An object the store should hold is missing. */
export class NotFoundError extends DtarError {
  readonly key: string;
  constructor(key: string, message?: string) {
    super('NOT_FOUND', message ?? `missing from the store: ${key}`);
    this.key = key;
  }
}

/** Data failed authentication or a checksum: it must not be used. */
export class CorruptDataError extends DtarError {
  constructor(message: string) {
    super('CORRUPT', message);
  }
}

/** The object sits in a Glacier class and has no readable restored copy yet. */
export class ArchivedError extends DtarError {
  readonly key: string;
  constructor(key: string) {
    super('ARCHIVED', `brick ${key} is archived (Glacier) and not yet thawed`);
    this.key = key;
  }
}

/** Some bricks a command needs are archived or still being restored (thaw/refusal.ts words it). */
export class NotThawedError extends DtarError {
  constructor(
    message: string,
    /** Bricks with no restore running. */
    readonly archived: number,
    /** Bricks whose restore is running. */
    readonly restoring: number,
  ) {
    super('ARCHIVED', message);
  }
}

/** `thaw --wait` ran out of time with bricks still being restored. */
export class ThawTimeoutError extends DtarError {
  constructor(message: string) {
    super('ARCHIVED', message);
  }
}

/** The storage backend failed after retries (network, permissions, server errors). */
export class BackendError extends DtarError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKEND', message, options);
  }
}

/** An archive entry would be written outside the extraction directory. `shown` is its name as escapeName shows it. */
export class UnsafePathError extends DtarError {
  constructor(shown: string, why: string) {
    super('UNSAFE_PATH', `refusing "${shown}": ${why}`);
  }
}

/** Extract refused or could not write some entries; each was reported already. */
export class ExtractIncompleteError extends DtarError {
  constructor(refused: number, failed: number) {
    const parts = [refused > 0 ? `${refused} refused as unsafe` : '', failed > 0 ? `${failed} could not be written` : ''].filter(Boolean);
    super(refused > 0 ? 'UNSAFE_PATH' : 'USAGE', `${refused + failed} entries were not extracted (${parts.join(', ')}; see above)`);
  }
}

/** A check (verify) found damage; the report was already printed. */
export class DamageFoundError extends DtarError {
  constructor(message: string) {
    super('DAMAGE_FOUND', message);
  }
}

/** put() with ifAbsent met an existing object. */
export class ObjectExistsError extends DtarError {
  readonly key: string;
  constructor(key: string) {
    super('OBJECT_EXISTS', `object already exists: ${key}`);
    this.key = key;
  }
}

/** Another dtar holds a lock that conflicts (src/repo/lock.ts), or this one lost its own. */
export class StoreLockedError extends DtarError {
  constructor(message: string) {
    super('STORE_LOCKED', message);
  }
}

/** A brick an index needs was deleted by `prune` after its archive was forgotten: not damage. */
export class PrunedError extends DtarError {
  constructor(message: string) {
    super('PRUNED', message);
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
