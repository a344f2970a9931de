/**
 * Error classification for the storage layer, in one place: which failures are worth retrying
 * (throttling, 5xx, dropped connections, timeouts) and which are answers (missing, archived,
 * exists, access denied). Also narrows the AWS SDK's error objects, which arrive as `unknown`.
 */
import { ArchivedError, BackendError, DtarError, NotFoundError, ObjectExistsError } from '../errors';

/** What we read off an SDK (or Node system) error; every field may be absent. */
export interface FaultInfo {
  /** SDK error name, which is the S3 error code (NoSuchKey, SlowDown, ...). */
  name?: string;
  /** HTTP status of the response, when there was one. */
  status?: number;
  /** Node system error code (ECONNRESET, ...). */
  code?: string;
  message: string;
}

export function faultInfo(err: unknown): FaultInfo {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const rec = err as Record<string, unknown>;
  const meta = rec['$metadata'];
  const status =
    typeof meta === 'object' && meta !== null && typeof (meta as Record<string, unknown>)['httpStatusCode'] === 'number'
      ? ((meta as Record<string, unknown>)['httpStatusCode'] as number)
      : undefined;
  const info: FaultInfo = { message: typeof rec['message'] === 'string' ? rec['message'] : String(err) };
  if (typeof rec['name'] === 'string') info.name = rec['name'];
  if (status !== undefined) info.status = status;
  if (typeof rec['code'] === 'string') info.code = rec['code'];
  return info;
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

const TRANSIENT_NAMES = new Set([
  'TimeoutError', // smithy: connection or socket timeout
  'RequestTimeout', // S3: the body came too slowly
  'RequestTimeoutException',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'InternalError',
  'ServiceUnavailable',
  'ConditionalRequestConflict', // S3: a concurrent conditional write; retrying yields 412 or success
]);

/**
 * True when trying the same operation again may succeed. Typed answers (missing, archived,
 * exists) never are; a BackendError is judged by its cause; anything unknown is not, so
 * programming errors surface at once instead of after a backoff.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof NotFoundError || err instanceof ArchivedError || err instanceof ObjectExistsError) return false;
  if (err instanceof BackendError) return err.cause !== undefined && isTransient(err.cause);
  if (err instanceof DtarError) return false;
  const info = faultInfo(err);
  if (info.code !== undefined && TRANSIENT_CODES.has(info.code)) return true;
  if (info.name !== undefined && TRANSIENT_NAMES.has(info.name)) return true;
  if (info.status !== undefined) return info.status === 429 || info.status >= 500;
  if (/socket hang up|ECONNRESET|EPIPE/.test(info.message)) return true;
  // The SDK and Node wrap the network error; look underneath.
  if (err instanceof Error && err.cause !== undefined && err.cause !== err) return isTransient(err.cause);
  return false;
}

/** An answer longer than the object or range asked for: refused, never retried (see the Backend contract). */
export function tooLong(limit: number): BackendError {
  return new BackendError(`the answer is longer than the ${limit} bytes expected; refused without reading the rest`);
}

/** One line describing a failure, for messages: "SlowDown (HTTP 503): Please reduce ...". */
export function describeFault(err: unknown): string {
  if (err instanceof DtarError) return err.message;
  const info = faultInfo(err);
  let message = (info.message.split('\n')[0] ?? '').trim();
  let label = info.code ?? (info.name !== undefined && info.name !== 'Error' ? info.name : undefined);
  if (label !== undefined && message === label) message = '';
  if (label !== undefined && message.includes(label)) label = undefined; // "read ECONNRESET" says it
  const status = info.status === undefined ? '' : label === undefined ? `HTTP ${info.status}` : ` (HTTP ${info.status})`;
  const head = `${label ?? ''}${status}`;
  if (head === '') return message === '' ? 'unknown error' : message;
  return message === '' ? head : `${head}: ${message}`;
}
