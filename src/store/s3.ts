/**
 * S3Backend: the store as objects under `<prefix>` in an S3 bucket (AWS or an S3-compatible
 * server). Owns the mapping of the Backend contract onto S3 requests (checksummed PutObject
 * or multipart Upload, conditional writes, ranged GETs, Glacier restores) and of S3's error
 * answers onto the typed store errors. It does not retry: the SDK's retries are off
 * (maxAttempts 1) and RetryBackend owns retrying, so one policy bounds every operation.
 */
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  RestoreObjectCommand,
  S3Client,
  type PutObjectCommandInput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ArchivedError, BackendError, escapeName, NotFoundError, ObjectExistsError, UsageError } from '../errors';
import {
  STORAGE_CLASSES,
  type Backend,
  type ByteRange,
  type ObjectInfo,
  type PutBody,
  type PutOptions,
  type RestoreState,
  type RestoreTier,
  type StorageClass,
  type WholeObject,
} from './backend';
import { describeFault, faultInfo, tooLong } from './errors';
import { lengthBound, rangeOf, validateKey, validatePrefix } from './keys';

const MiB = 1024 * 1024;
/** Bodies up to this size go in one PutObject; larger ones, and streams, in a multipart upload. */
const SINGLE_PUT_MAX = 16 * MiB;
/** Streams of a known size up to this go in one PutObject (bricks: 32 MiB by default). */
const SIZED_PUT_MAX = 128 * MiB;
/** Multipart part size; a 64 MiB brick is 8 parts. */
const PART_SIZE = 8 * MiB;
/** Parts in flight per upload: bounds a streamed upload's memory to PART_QUEUE x PART_SIZE. */
const PART_QUEUE = 4;
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * Socket idle time after which a request fails (and RetryBackend may retry it): the SDK's
 * `socketTimeout`. (Its `requestTimeout` bounds a whole request and, unless told to throw,
 * only logs a warning: a server that never answered then held dtar for good.)
 */
const IDLE_TIMEOUT_MS = 120_000;

export interface S3BackendOptions {
  bucket: string;
  /** Key prefix inside the bucket: '' or ending in '/'. */
  prefix?: string;
  /** Custom endpoint (S3-compatible servers); default AWS. */
  endpoint?: string;
  /** Default 'us-east-1'. */
  region?: string;
  /** Path-style URLs; default true for IP-address and localhost endpoints, else false. */
  forcePathStyle?: boolean;
  /** Default: the SDK's credential chain (environment, profile, SSO, instance role...). */
  credentials?: S3ClientConfig['credentials'];
  /** What messages show; default s3://bucket/prefix. */
  location?: string;
  /** Default IDLE_TIMEOUT_MS; tests shorten it. */
  idleTimeoutMs?: number;
}

export class S3Backend implements Backend {
  readonly location: string;
  readonly cheapRanges = false;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(opts: S3BackendOptions) {
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ?? '';
    if (this.prefix !== '') validatePrefix(this.prefix);
    if (this.prefix !== '' && !this.prefix.endsWith('/')) this.prefix += '/';
    this.location = opts.location ?? `s3://${this.bucket}/${this.prefix}`;
    const config: S3ClientConfig = {
      region: opts.region ?? 'us-east-1',
      forcePathStyle: opts.forcePathStyle ?? (opts.endpoint !== undefined && isLocalEndpoint(opts.endpoint)),
      maxAttempts: 1, // RetryBackend owns retrying
      requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, socketTimeout: opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS },
    };
    if (opts.endpoint !== undefined) config.endpoint = opts.endpoint;
    if (opts.credentials !== undefined) config.credentials = opts.credentials;
    this.client = new S3Client(config);
  }

  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<void> {
    validateKey(key);
    const params: PutObjectCommandInput = {
      Bucket: this.bucket,
      Key: this.prefix + key,
      // The server verifies it (AWS answers BadDigest on mismatch), so a body damaged in
      // transit is refused rather than stored.
      ChecksumAlgorithm: 'SHA256',
    };
    if (options.storageClass !== undefined) params.StorageClass = options.storageClass;
    if (options.ifAbsent) params.IfNoneMatch = '*'; // S3 conditional write: 412 if the key exists
    try {
      if (body instanceof Uint8Array && body.length <= SINGLE_PUT_MAX) {
        await this.putObject(params, body, options.sha256);
      } else if (!(body instanceof Uint8Array) && options.size !== undefined && options.size <= SIZED_PUT_MAX) {
        // A stream of known, modest size (a brick): one PutObject, not three or more requests.
        const parts: Uint8Array[] = [];
        for await (const p of typeof body === 'function' ? body() : body) parts.push(p);
        await this.putObject(params, Buffer.concat(parts), options.sha256);
      } else {
        await this.upload(params, body instanceof Uint8Array ? body : Readable.from(typeof body === 'function' ? body() : body));
      }
    } catch (err) {
      const f = faultInfo(err);
      if (options.ifAbsent && (f.status === 412 || f.name === 'PreconditionFailed')) throw new ObjectExistsError(key);
      throw this.fail('put', key, err);
    }
  }

  /** One PutObject; with the body's SHA-256 known, the SDK is given it rather than hashing the body for the signature and again for the checksum. */
  private async putObject(params: PutObjectCommandInput, body: Uint8Array, sha256?: Uint8Array): Promise<void> {
    const hash = sha256 && Buffer.from(sha256.buffer, sha256.byteOffset, sha256.byteLength);
    const command = new PutObjectCommand({ ...params, Body: body, ContentLength: body.length, ...(hash && { ChecksumSHA256: hash.toString('base64') }) });
    if (hash) {
      command.middlewareStack.add(
        (next) => (args) => {
          const request = args.request as { headers?: Record<string, string> };
          if (request.headers) request.headers['x-amz-content-sha256'] = hash.toString('hex');
          return next(args);
        },
        { step: 'build', name: 'dtarKnownPayloadHash' },
      );
    }
    await this.client.send(command);
  }

  /**
   * A range reaching past the end of the object yields the bytes that exist (possibly none),
   * as S3 does; callers that need an exact length check it. The body is read as it streams,
   * and an answer longer than asked for is cut off at once (a misbehaving server must not
   * make dtar buffer without bound).
   */
  async get(key: string, want: ByteRange | WholeObject, into?: Buffer): Promise<Buffer> {
    validateKey(key);
    const range = rangeOf(want);
    // S3 cannot express an empty range; still answer NotFoundError for a missing key.
    if (range?.length === 0) {
      if ((await this.stat(key)) === null) throw new NotFoundError(key);
      return Buffer.alloc(0);
    }
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          ...(range && { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` }),
        }),
      );
      return await readBounded(res.Body as Readable | undefined, res.ContentLength, lengthBound(want), into);
    } catch (err) {
      const f = faultInfo(err);
      if (f.name === 'NoSuchKey') throw new NotFoundError(key);
      if (f.name === 'InvalidObjectState') throw new ArchivedError(key);
      if (range && (f.status === 416 || f.name === 'InvalidRange')) return Buffer.alloc(0); // starts at or past the end
      throw this.fail('get', key, err);
    }
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    validateKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      const info: ObjectInfo = { key, size: res.ContentLength ?? 0 };
      if (res.LastModified) info.modified = res.LastModified;
      const storageClass = toStorageClass(res.StorageClass ?? 'STANDARD'); // AWS omits it for STANDARD
      if (storageClass) info.storageClass = storageClass;
      const restore = res.Restore !== undefined ? parseRestoreHeader(res.Restore) : undefined;
      if (restore) info.restore = restore;
      return info;
    } catch (err) {
      // HEAD answers carry no body, so a missing key is a bare 404 ('NotFound').
      if (faultInfo(err).status === 404) return null;
      throw this.fail('stat', key, err);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }),
        );
      } catch (err) {
        throw this.fail('list', prefix, err);
      }
      for (const obj of page.Contents ?? []) {
        if (obj.Key === undefined || !obj.Key.startsWith(this.prefix)) continue;
        const info: ObjectInfo = { key: obj.Key.slice(this.prefix.length), size: obj.Size ?? 0 };
        if (obj.LastModified) info.modified = obj.LastModified;
        const storageClass = toStorageClass(obj.StorageClass ?? 'STANDARD');
        if (storageClass) info.storageClass = storageClass;
        yield info;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
    } catch (err) {
      if (faultInfo(err).name === 'NoSuchKey') return; // S3 answers 204 anyway; some servers 404
      throw this.fail('delete', key, err);
    }
  }

  /**
   * 202 (restore started) and 200 (a restored copy already exists; AWS resets its expiry to
   * `days` from now) both resolve 'started': the request took effect and no job is running.
   */
  async requestRestore(key: string, days: number, tier: RestoreTier): Promise<'started' | 'in-progress' | 'not-archived'> {
    validateKey(key);
    try {
      await this.client.send(
        new RestoreObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          RestoreRequest: { Days: days, GlacierJobParameters: { Tier: tier } },
        }),
      );
      return 'started';
    } catch (err) {
      const f = faultInfo(err);
      if (f.name === 'RestoreAlreadyInProgress' || f.status === 409) return 'in-progress';
      if (f.name === 'InvalidObjectState') return 'not-archived'; // not in an archive class
      if (f.name === 'NoSuchKey') throw new NotFoundError(key);
      throw this.fail('restore', key, err);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** Multipart upload; on failure the upload is aborted so its parts stop costing storage. */
  private async upload(params: PutObjectCommandInput, body: Uint8Array | Readable): Promise<void> {
    // leavePartsOnError: we abort ourselves, so that a failing abort (some servers do not
    // implement it) cannot hide the error that made the upload fail.
    const upload = new Upload({
      client: this.client,
      params: { ...params, Body: body },
      partSize: PART_SIZE,
      queueSize: PART_QUEUE,
      leavePartsOnError: true,
    });
    try {
      await upload.done();
    } catch (err) {
      if (upload.uploadId !== undefined) {
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: upload.uploadId }))
          .catch(() => undefined); // best effort: a bucket lifecycle rule reaps what is left
      }
      throw err;
    }
  }

  private fail(op: string, key: string, err: unknown): BackendError {
    return new BackendError(`${escapeName(this.location)}: ${op} ${key}: ${describeFault(err)}`, { cause: err });
  }
}

/**
 * A response body, refused as soon as it is known to be longer than `limit`: by its declared
 * length before a byte is read, else as it streams. Read into `into` when it has room.
 */
async function readBounded(body: Readable | undefined, declared: number | undefined, limit: number, into?: Buffer): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  if (declared !== undefined && declared > limit) {
    body.destroy();
    throw tooLong(limit);
  }
  const out = into && into.length >= limit ? into : null;
  const pieces: Buffer[] = [];
  let n = 0;
  for await (const piece of body) {
    const b = piece as Buffer;
    if (n + b.length > limit) throw tooLong(limit); // leaving the loop destroys the stream
    if (out) b.copy(out, n);
    else pieces.push(b);
    n += b.length;
  }
  return out ? out.subarray(0, n) : Buffer.concat(pieces, n);
}

/**
 * Parses `x-amz-restore`: `ongoing-request="true"` while a restore runs, then
 * `ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"`.
 */
export function parseRestoreHeader(header: string): RestoreState | undefined {
  const ongoing = /ongoing-request="(true|false)"/.exec(header)?.[1];
  if (ongoing === undefined) return undefined;
  const state: RestoreState = { ongoing: ongoing === 'true' };
  const expiry = /expiry-date="([^"]+)"/.exec(header)?.[1];
  if (expiry !== undefined && !Number.isNaN(Date.parse(expiry))) state.expiry = new Date(expiry);
  return state;
}

/** S3-compatible servers on an IP address or localhost have no per-bucket DNS names. */
function isLocalEndpoint(endpoint: string): boolean {
  let host: string;
  try {
    host = new URL(endpoint).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return false;
  }
  return isIP(host) !== 0 || host === 'localhost' || host.endsWith('.localhost');
}

function toStorageClass(value: string): StorageClass | undefined {
  return STORAGE_CLASSES.find((c) => c === value);
}

export interface S3UrlFlags {
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
}

/**
 * Options for `s3://BUCKET/PREFIX`: flags first, then AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL
 * and AWS_REGION / AWS_DEFAULT_REGION, then region us-east-1. Credentials are left to the
 * SDK's default chain.
 */
export function s3OptionsFromUrl(url: string, env: NodeJS.ProcessEnv, flags: S3UrlFlags): S3BackendOptions {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  const bucket = m?.[1];
  if (bucket === undefined) throw new UsageError(`bad S3 location ${url}: expected s3://BUCKET/PREFIX`);
  // S3's bucket naming rules; dots allowed for old buckets.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new UsageError(`bad S3 bucket name ${JSON.stringify(bucket)} in ${url}`);
  }
  let prefix = (m?.[2] ?? '').replace(/\/+$/, '');
  if (prefix !== '') {
    try {
      validatePrefix(prefix);
    } catch {
      throw new UsageError(`bad S3 prefix ${JSON.stringify(prefix)} in ${url}: empty, '.' or '..' segments`);
    }
    prefix += '/';
  }
  const opts: S3BackendOptions = {
    bucket,
    prefix,
    location: url,
    region: flags.region ?? nonEmpty(env['AWS_REGION']) ?? nonEmpty(env['AWS_DEFAULT_REGION']) ?? 'us-east-1',
  };
  const endpoint = flags.endpoint ?? nonEmpty(env['AWS_ENDPOINT_URL_S3']) ?? nonEmpty(env['AWS_ENDPOINT_URL']);
  if (endpoint !== undefined) {
    if (!/^https?:\/\/[^/]/.test(endpoint)) throw new UsageError(`bad S3 endpoint ${endpoint}: expected http(s)://HOST[:PORT]`);
    opts.endpoint = endpoint;
  }
  if (flags.pathStyle !== undefined) opts.forcePathStyle = flags.pathStyle;
  return opts;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
