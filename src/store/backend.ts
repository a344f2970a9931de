/**
 * The storage backend contract: a flat namespace of immutable objects under string keys
 * ("config", "keys/<id>", "bricks/ab/<sha256>", ...). Everything above this interface is
 * unaware whether objects live in a local directory or in S3.
 *
 * Contract, for every implementation (checked by test/store/conformance.ts):
 * - put() is atomic: an object is either absent or complete under its key, never partial.
 *   When put() resolves, the object is durable (local: fsynced file and directory).
 * - put() with `ifAbsent` fails with ObjectExistsError when the key exists, and of two
 *   concurrent such puts at most one succeeds.
 * - get() returns exactly the stored bytes, or the range asked for; a missing key raises
 *   NotFoundError, an archived (Glacier, not restored) object raises ArchivedError.
 *   Given a buffer `into` for a range, it may read into it and return a view of it
 *   (callers use what is returned, never `into` itself).
 *   A range reaching past the end yields the bytes that exist (possibly none), as S3 does:
 *   callers that need an exact length check it.
 * - get() never holds more than it asked for: a whole object is asked for with the most
 *   bytes the caller expects of it, and an object or answer longer than that (or than the
 *   range) is refused with a BackendError as soon as it is seen, without reading the rest.
 * - stat() returns null for a missing key.
 * - list() yields every key under a prefix, in no particular order.
 * - delete() of a missing key succeeds.
 */
export type StorageClass =
  | 'STANDARD'
  | 'STANDARD_IA'
  | 'INTELLIGENT_TIERING'
  | 'GLACIER_IR'
  | 'GLACIER'
  | 'DEEP_ARCHIVE';

export const STORAGE_CLASSES: readonly StorageClass[] = [
  'STANDARD',
  'STANDARD_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'GLACIER',
  'DEEP_ARCHIVE',
];

export interface PutOptions {
  /** S3 storage class; ignored by the local backend. Default STANDARD. */
  storageClass?: StorageClass;
  /** Fail with ObjectExistsError instead of replacing an existing object. */
  ifAbsent?: boolean;
  /**
   * The body's size, when a streamed body's is known: lets S3 send a brick in one request
   * rather than as a multipart upload.
   */
  size?: number;
  /**
   * The body's SHA-256, when the caller has it already (a brick's name): S3 sends it as the
   * payload hash and the object checksum the server verifies, instead of hashing the body
   * twice more. It must be the hash of exactly the bytes sent.
   */
  sha256?: Uint8Array;
}

/**
 * A put() body. A function opening the body afresh (e.g. `() => createReadStream(path)`)
 * streams like an AsyncIterable but can be replayed, so RetryBackend retries it; a bare
 * AsyncIterable is consumed by the first attempt and is not retried.
 */
export type PutBody = Uint8Array | AsyncIterable<Uint8Array> | (() => AsyncIterable<Uint8Array>);

export interface ByteRange {
  offset: number;
  length: number;
}

/** A whole object of at most `maxLength` bytes: what the caller knows it should be (its listed size, a format's bound). */
export interface WholeObject {
  maxLength: number;
}

/** Where a Glacier object stands: `restoring` while a restore runs, `restored` until expiry. */
export interface RestoreState {
  ongoing: boolean;
  expiry?: Date;
}

export interface ObjectInfo {
  key: string;
  size: number;
  /** When the object was written (S3: LastModified; local: the file's mtime), when the backend says. */
  modified?: Date;
  storageClass?: StorageClass;
  restore?: RestoreState;
}

export type RestoreTier = 'Expedited' | 'Standard' | 'Bulk';

export interface Backend {
  /** Human-readable location, as given by the user (path or s3:// URL). */
  readonly location: string;
  /**
   * Whether a ranged read costs no more than the bytes it reads (a local file), so readers
   * need not gather many small ranges into one large read (S3: every request costs).
   */
  readonly cheapRanges: boolean;
  put(key: string, body: PutBody, options?: PutOptions): Promise<void>;
  get(key: string, want: ByteRange | WholeObject, into?: Buffer): Promise<Buffer>;
  stat(key: string): Promise<ObjectInfo | null>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  /**
   * Ask for a temporary readable copy of an archived object. Resolves `started` when
   * a restore was requested, `in-progress` when one is already running. Backends without
   * archive classes resolve `not-archived`. A request on an already restored copy resolves
   * `started` (S3 answers 200 and resets the copy's expiry to `days` from now). A missing key
   * raises NotFoundError.
   */
  requestRestore(key: string, days: number, tier: RestoreTier): Promise<'started' | 'in-progress' | 'not-archived'>;
  close(): Promise<void>;
}
