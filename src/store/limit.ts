/**
 * ConcurrencyLimit: bounds how many operations run at once against another backend, with a
 * separate, smaller budget for uploads (each holds a body in memory and may itself run
 * several part uploads). Waiters are served in arrival order.
 */
import type { Backend, ByteRange, ObjectInfo, PutBody, PutOptions, RestoreTier, WholeObject } from './backend';

export interface LimitOptions {
  /** put() calls in flight. */
  uploads: number;
  /** get, stat, delete, requestRestore calls in flight (list pages are not counted). */
  others: number;
}

export const DEFAULT_LIMITS: LimitOptions = { uploads: 4, others: 16 };

export class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(slots: number) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`semaphore needs at least 1 slot, got ${slots}`);
    this.free = slots;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter, so late arrivals cannot overtake it.
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

export class ConcurrencyLimit implements Backend {
  readonly location: string;
  readonly cheapRanges: boolean;
  private readonly uploads: Semaphore;
  private readonly others: Semaphore;

  constructor(
    private readonly inner: Backend,
    limits: LimitOptions = DEFAULT_LIMITS,
  ) {
    this.location = inner.location;
    this.cheapRanges = inner.cheapRanges;
    this.uploads = new Semaphore(limits.uploads);
    this.others = new Semaphore(limits.others);
  }

  put(key: string, body: PutBody, options?: PutOptions): Promise<void> {
    return this.uploads.run(() => this.inner.put(key, body, options));
  }

  get(key: string, want: ByteRange | WholeObject, into?: Buffer): Promise<Buffer> {
    return this.others.run(() => this.inner.get(key, want, into));
  }

  stat(key: string): Promise<ObjectInfo | null> {
    return this.others.run(() => this.inner.stat(key));
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }

  delete(key: string): Promise<void> {
    return this.others.run(() => this.inner.delete(key));
  }

  requestRestore(key: string, days: number, tier: RestoreTier): Promise<'started' | 'in-progress' | 'not-archived'> {
    return this.others.run(() => this.inner.requestRestore(key, days, tier));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
