/**
 * ConcurrencyLimit and its Semaphore: in-flight operations stay within bounds, uploads apart
 * from the rest, and waiters run in arrival order.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { setImmediate as laterTurn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { ByteRange, PutBody, PutOptions, WholeObject } from '../../src/store/backend';
import { ConcurrencyLimit, Semaphore } from '../../src/store/limit';
import { LocalBackend } from '../../src/store/local';
import { makeTempDir } from '../support/tmp';
import { WHOLE } from './conformance';

/** A local store whose puts and gets linger, counting how many run at once. */
class SlowBackend extends LocalBackend {
  running = { put: 0, get: 0 };
  peak = { put: 0, get: 0 };

  override async put(key: string, body: PutBody, options?: PutOptions): Promise<void> {
    return this.track('put', () => super.put(key, body, options));
  }

  override async get(key: string, want: ByteRange | WholeObject): Promise<Buffer> {
    return this.track('get', () => super.get(key, want));
  }

  private async track<T>(op: 'put' | 'get', fn: () => Promise<T>): Promise<T> {
    this.peak[op] = Math.max(this.peak[op], ++this.running[op]);
    try {
      await laterTurn(); // every operation the limit lets through has started by then
      return await fn();
    } finally {
      this.running[op]--;
    }
  }
}

describe('ConcurrencyLimit', () => {
  it('bounds uploads and other operations separately', async () => {
    const tmp = await makeTempDir('limit');
    try {
      const slow = new SlowBackend(path.join(tmp.path, 'store'));
      const be = new ConcurrencyLimit(slow, { uploads: 2, others: 3 });
      const keys = Array.from({ length: 12 }, (_, i) => `k/${i}`);
      await Promise.all(keys.map((k) => be.put(k, Buffer.from(k))));
      const got = await Promise.all(keys.map((k) => be.get(k, WHOLE)));
      assert.deepEqual(got.map(String), keys);
      assert.deepEqual(slow.peak, { put: 2, get: 3 });
    } finally {
      await tmp.cleanup();
    }
  });
});

describe('Semaphore', () => {
  it('serves waiters in arrival order and releases slots on failure', async () => {
    const sem = new Semaphore(1);
    const order: number[] = [];
    const failing = sem.run(async () => {
      await laterTurn();
      throw new Error('boom');
    });
    const rest = [1, 2, 3].map((n) => sem.run(async () => void order.push(n)));
    await assert.rejects(failing, /boom/);
    await Promise.all(rest);
    assert.deepEqual(order, [1, 2, 3]);
    assert.throws(() => new Semaphore(0), RangeError);
  });
});
