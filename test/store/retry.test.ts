/**
 * RetryBackend's own logic, over a local store made flaky on purpose: listings that fail
 * midway, the backoff schedule, and what is left alone. (Retries against S3 faults are in
 * s3.test.ts.)
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BackendError } from '../../src/errors';
import type { ObjectInfo } from '../../src/store/backend';
import { LocalBackend } from '../../src/store/local';
import { RetryBackend, type RetryEvent } from '../../src/store/retry';
import { makeTempDir, type TempDir } from '../support/tmp';
import { collect, iterate, WHOLE } from './conformance';

function reset(): Error {
  return Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
}

/** A local store whose n-th listing pass breaks after `breaks[n]` keys. */
class FlakyList extends LocalBackend {
  breaks: number[] = [];
  passes = 0;

  override async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const breakAt = this.breaks[this.passes++];
    let n = 0;
    for await (const info of super.list(prefix)) {
      if (n++ === breakAt) throw reset();
      yield info;
    }
  }
}

describe('RetryBackend', () => {
  let tmp: TempDir;
  let inner: FlakyList;
  const keys = Array.from({ length: 10 }, (_, i) => `l/${i}`);
  before(async () => {
    tmp = await makeTempDir('retry');
    inner = new FlakyList(path.join(tmp.path, 'store'));
    for (const k of keys) await inner.put(k, Buffer.from(k));
  });
  after(() => tmp.cleanup());

  it('restarts a listing that fails midway without yielding a key twice', async () => {
    const be = new RetryBackend(inner, { retries: 1, baseDelayMs: 1, maxDelayMs: 2 });
    // Three failures, each after more progress than the last: the budget of one retry
    // renews with progress, so the listing completes.
    inner.passes = 0;
    inner.breaks = [3, 6, 9];
    const seen: string[] = [];
    for await (const info of be.list('l/')) seen.push(info.key);
    assert.deepEqual([...seen].sort(), [...keys].sort());
    assert.equal(new Set(seen).size, seen.length, 'no duplicates');
    assert.equal(inner.passes, 4);
  });

  it('gives up on a listing that makes no progress', async () => {
    const be = new RetryBackend(inner, { retries: 2, baseDelayMs: 1, maxDelayMs: 2 });
    inner.passes = 0;
    inner.breaks = [2, 2, 2, 2];
    await assert.rejects(
      collect(be.list('l/')),
      (err: unknown) => err instanceof BackendError && /list l\/: failed 3 times: read ECONNRESET/.test(err.message),
    );
    assert.equal(inner.passes, 3);
  });

  it('backs off exponentially with full jitter under a ceiling', async () => {
    const events: RetryEvent[] = [];
    let calls = 0;
    class AlwaysReset extends LocalBackend {
      override async stat(): Promise<null> {
        calls++;
        throw reset();
      }
    }
    const be = new RetryBackend(new AlwaysReset(tmp.path), { retries: 6, baseDelayMs: 2, maxDelayMs: 10, onRetry: (e) => events.push(e) });
    await assert.rejects(be.stat('k'), BackendError);
    assert.equal(calls, 7);
    assert.deepEqual(events.map((e) => e.attempt), [1, 2, 3, 4, 5, 6]);
    events.forEach((e, i) => assert.ok(e.delayMs >= 0 && e.delayMs <= Math.min(10, 2 * 2 ** i), `retry ${i + 1}: ${e.delayMs} ms`));
  });

  it('passes non-transient failures through untouched and once', async () => {
    let calls = 0;
    const bug = new TypeError('a bug');
    class Buggy extends LocalBackend {
      override async get(): Promise<Buffer> {
        calls++;
        throw bug;
      }
    }
    const be = new RetryBackend(new Buggy(tmp.path), { retries: 5, baseDelayMs: 1, maxDelayMs: 1 });
    await assert.rejects(be.get('k', WHOLE), (err: unknown) => err === bug);
    assert.equal(calls, 1);
  });

  it('tries a bare stream once, since it cannot be replayed', async () => {
    let calls = 0;
    class ResetPut extends LocalBackend {
      override async put(): Promise<void> {
        calls++;
        throw reset();
      }
    }
    const be = new RetryBackend(new ResetPut(tmp.path), { retries: 5, baseDelayMs: 1, maxDelayMs: 1 });
    await assert.rejects(be.put('k', iterate([Buffer.from('x')])), /put k: failed once, not retried: read ECONNRESET/);
    assert.equal(calls, 1);
    await assert.rejects(be.put('k', () => iterate([Buffer.from('x')])), /put k: failed 6 times/);
    assert.equal(calls, 7);
  });
});
