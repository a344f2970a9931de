/**
 * RetryBackend: retries another backend's transient failures (throttling, 5xx, dropped
 * connections, timeouts; see errors.ts) with exponential backoff and full jitter, and turns
 * exhausted retries into one BackendError naming the operation, the key and the last cause.
 * Answers (missing, archived, exists, access denied) pass through at once. The only retry
 * layer: S3Backend runs the SDK with retries off.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BackendError, escapeName, ObjectExistsError } from '../errors';
import type { Backend, ByteRange, ObjectInfo, PutBody, PutOptions, RestoreTier, WholeObject } from './backend';
import { describeFault, isTransient } from './errors';

export interface RetryEvent {
  op: string;
  key: string;
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export interface RetryOptions {
  /** Retries after the first attempt; 0 disables retrying. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Called before each backoff, e.g. to show "retrying" on stderr. */
  onRetry?: (event: RetryEvent) => void;
}

/** Five retries, 0.5 s doubling up to 20 s: rides out a minute or so of trouble. */
export const DEFAULT_RETRY: RetryOptions = { retries: 5, baseDelayMs: 500, maxDelayMs: 20_000 };

export class RetryBackend implements Backend {
  readonly location: string;
  readonly cheapRanges: boolean;
  /** Aborted by close(): no retry after it, and a backoff under way ends at once. */
  private readonly closed = new AbortController();

  constructor(
    private readonly inner: Backend,
    private readonly opts: RetryOptions = DEFAULT_RETRY,
  ) {
    this.location = inner.location;
    this.cheapRanges = inner.cheapRanges;
  }

  async put(key: string, body: PutBody, options?: PutOptions): Promise<void> {
    if (!(body instanceof Uint8Array) && typeof body !== 'function') {
      // A bare stream is consumed by the first attempt and cannot be replayed; callers that
      // want retries pass a buffer or a function opening the stream (see PutBody).
      return this.run('put', key, () => this.inner.put(key, body, options), 0);
    }
    let failedOnce = false;
    try {
      return await this.run('put', key, () => this.inner.put(key, body, options).catch((err: unknown) => {
        failedOnce ||= isTransient(err);
        throw err;
      }));
    } catch (err) {
      // An attempt whose answer was lost may have stored the object before the retry met it;
      // if the object is exactly ours, the put succeeded.
      if (err instanceof ObjectExistsError && failedOnce && (await this.holds(key, body, options?.size))) return;
      throw err;
    }
  }

  get(key: string, want: ByteRange | WholeObject, into?: Buffer): Promise<Buffer> {
    return this.run('get', key, () => this.inner.get(key, want, into));
  }

  stat(key: string): Promise<ObjectInfo | null> {
    return this.run('stat', key, () => this.inner.stat(key));
  }

  /**
   * A failed listing starts over and skips the keys already yielded; the retry budget
   * renews whenever a pass made progress, so a long listing survives scattered failures.
   */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const seen = new Set<string>();
    let seenAtFailure = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        for await (const info of this.inner.list(prefix)) {
          if (seen.has(info.key)) continue;
          seen.add(info.key);
          yield info;
        }
        return;
      } catch (err) {
        if (seen.size > seenAtFailure) attempt = 0;
        seenAtFailure = seen.size;
        await this.backoff('list', prefix, attempt, err, this.opts.retries);
      }
    }
  }

  delete(key: string): Promise<void> {
    return this.run('delete', key, () => this.inner.delete(key));
  }

  requestRestore(key: string, days: number, tier: RestoreTier): Promise<'started' | 'in-progress' | 'not-archived'> {
    return this.run('restore', key, () => this.inner.requestRestore(key, days, tier));
  }

  /**
   * Once the command is over, a request still under way (one nobody waits for any more, such
   * as a lock release that timed out) is cut by the inner close, and is not tried again: it
   * must not keep the process running.
   */
  close(): Promise<void> {
    this.closed.abort();
    return this.inner.close();
  }

  private async run<T>(op: string, key: string, fn: () => Promise<T>, retries = this.opts.retries): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        await this.backoff(op, key, attempt, err, retries);
      }
    }
  }

  /** Rethrows `err` unless it is transient and retries remain; otherwise sleeps. */
  private async backoff(op: string, key: string, attempt: number, err: unknown, retries: number): Promise<void> {
    if (!isTransient(err) || this.closed.signal.aborted) throw err;
    if (attempt >= retries) {
      const root = err instanceof BackendError && err.cause !== undefined ? err.cause : err;
      const tries = attempt + 1;
      throw new BackendError(
        `${escapeName(this.location)}: ${op} ${key}: failed ${tries === 1 ? 'once, not retried' : `${tries} times`}: ${describeFault(root)}`,
        { cause: err },
      );
    }
    const ceiling = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** attempt);
    const delayMs = Math.round(Math.random() * ceiling); // full jitter
    this.opts.onRetry?.({ op, key, attempt: attempt + 1, delayMs, error: err });
    await sleep(delayMs, undefined, { signal: this.closed.signal }).catch(() => {
      throw err;
    });
  }

  private async holds(key: string, body: Uint8Array | (() => AsyncIterable<Uint8Array>), size?: number): Promise<boolean> {
    try {
      let length = body instanceof Uint8Array ? body.length : size;
      if (length === undefined) {
        length = 0;
        for await (const chunk of (body as () => AsyncIterable<Uint8Array>)()) length += chunk.length;
      }
      const stored = await this.get(key, { maxLength: length });
      if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).equals(stored);
      let offset = 0;
      for await (const chunk of body()) {
        const mine = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        if (!mine.equals(stored.subarray(offset, offset + mine.length))) return false;
        offset += mine.length;
      }
      return offset === stored.length;
    } catch {
      return false;
    }
  }
}
