/**
 * The Backend conformance suite: the contract in src/store/backend.ts as tests. Every backend
 * runs it (local.test.ts, s3.test.ts) through a factory; backend-specific behaviour is tested
 * next to each backend, not here.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { NotFoundError, ObjectExistsError } from '../../src/errors';
import type { Backend, ObjectInfo } from '../../src/store/backend';

export interface ConformanceTarget {
  backend: Backend;
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;
/** A whole-object get() in tests, whose objects are at most this long. */
export const WHOLE = { maxLength: 256 * MiB };

export function runConformance(name: string, factory: () => Promise<ConformanceTarget>): void {
  describe(`Backend conformance: ${name}`, () => {
    let target: ConformanceTarget;
    let be: Backend;
    before(async () => {
      target = await factory();
      be = target.backend;
    });
    after(async () => {
      await be.close();
      await target.cleanup();
    });

    it('stores and returns bytes exactly', async () => {
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const rand = randomBytes(100_000);
      await be.put('exact/all-bytes', all);
      await be.put('exact/random', rand);
      await be.put('exact/empty', new Uint8Array(0));
      assert.deepEqual(await be.get('exact/all-bytes', WHOLE), all);
      assert.deepEqual(await be.get('exact/random', WHOLE), rand);
      assert.equal((await be.get('exact/empty', WHOLE)).length, 0);
    });

    it('reads byte ranges, short at the end of the object', async () => {
      const data = randomBytes(10_000);
      await be.put('range/obj', data);
      assert.deepEqual(await be.get('range/obj', { offset: 0, length: 10 }), data.subarray(0, 10));
      assert.deepEqual(await be.get('range/obj', { offset: 4321, length: 1000 }), data.subarray(4321, 5321));
      assert.deepEqual(await be.get('range/obj', { offset: 9990, length: 10 }), data.subarray(9990));
      assert.deepEqual(await be.get('range/obj', { offset: 9990, length: 100 }), data.subarray(9990), 'past the end: what exists');
      assert.equal((await be.get('range/obj', { offset: 10_000, length: 5 })).length, 0, 'at the end: nothing');
      assert.equal((await be.get('range/obj', { offset: 20, length: 0 })).length, 0);
      await assert.rejects(be.get('range/obj', { offset: -1, length: 2 }), RangeError);
      // A buffer to read into may be used or not; what comes back is right either way.
      const into = Buffer.alloc(1000, 0xee);
      assert.deepEqual(await be.get('range/obj', { offset: 4321, length: 1000 }, into), data.subarray(4321, 5321));
      assert.deepEqual(await be.get('range/obj', { offset: 9990, length: 100 }, Buffer.alloc(100)), data.subarray(9990), 'past the end, into a buffer');
    });

    it('serves many ranged reads of different objects at once', async () => {
      // More objects than a backend keeps handles or connections for, all read together
      // (a whole-store mount lists a thousand stored indexes this way).
      const objects = Array.from({ length: 100 }, (_, i) => randomBytes(100 + i));
      await Promise.all(objects.map((o, i) => be.put(`many/${i}`, o)));
      const heads = await Promise.all(objects.map((_, i) => be.get(`many/${i}`, { offset: 0, length: 50 })));
      heads.forEach((h, i) => assert.deepEqual(h, objects[i]!.subarray(0, 50), `object ${i}`));
    });

    it('stats objects and returns null for missing keys', async () => {
      await be.put('stat/one', randomBytes(1234));
      const info = await be.stat('stat/one');
      assert.equal(info?.key, 'stat/one');
      assert.equal(info?.size, 1234);
      assert.equal(await be.stat('stat/missing'), null);
      assert.equal(await be.stat('stat'), null, 'a key prefix is not an object');
    });

    it('raises NotFoundError for missing keys', async () => {
      await assert.rejects(be.get('missing/nothing', WHOLE), (err: unknown) => err instanceof NotFoundError && err.key === 'missing/nothing');
      await assert.rejects(be.get('missing/nothing', { offset: 0, length: 1 }), NotFoundError);
      await assert.rejects(be.requestRestore('missing/nothing', 1, 'Bulk'), NotFoundError);
    });

    it('lists keys under a prefix', async () => {
      const keys = ['list/a/1', 'list/a/2', 'list/ab/3', 'list/b/deep/er/4', 'list/top'];
      await Promise.all(keys.map((k, i) => be.put(k, Buffer.alloc(i + 1, i))));
      assert.deepEqual(await listKeys(be, 'list/'), keys);
      assert.deepEqual(await listKeys(be, 'list/a/'), ['list/a/1', 'list/a/2']);
      assert.deepEqual(await listKeys(be, 'list/a'), ['list/a/1', 'list/a/2', 'list/ab/3'], 'a partial segment matches too');
      assert.deepEqual(await listKeys(be, 'list/b/'), ['list/b/deep/er/4']);
      assert.deepEqual(await listKeys(be, 'list/none/'), []);
      const sizes = new Map((await collect(be.list('list/'))).map((o) => [o.key, o.size]));
      assert.deepEqual([...sizes.values()].sort(), [1, 2, 3, 4, 5]);
      const everything = await listKeys(be, '');
      for (const k of keys) assert.ok(everything.includes(k), `list('') includes ${k}`);
    });

    it('deletes objects; deleting a missing key succeeds', async () => {
      await be.put('del/x', Buffer.from('x'));
      await be.delete('del/x');
      assert.equal(await be.stat('del/x'), null);
      await assert.rejects(be.get('del/x', WHOLE), NotFoundError);
      await be.delete('del/x');
      await be.delete('del/never/was');
      assert.deepEqual(await listKeys(be, 'del/'), []);
    });

    it('replaces an object on a plain put', async () => {
      await be.put('replace/k', Buffer.from('first version'));
      await be.put('replace/k', Buffer.from('second'));
      assert.equal((await be.get('replace/k', WHOLE)).toString(), 'second');
    });

    it('refuses ifAbsent puts over an existing object', async () => {
      await be.put('absent/k', Buffer.from('original'), { ifAbsent: true });
      await assert.rejects(
        be.put('absent/k', Buffer.from('intruder'), { ifAbsent: true }),
        (err: unknown) => err instanceof ObjectExistsError && err.key === 'absent/k',
      );
      assert.equal((await be.get('absent/k', WHOLE)).toString(), 'original');
    });

    it('lets exactly one of two concurrent ifAbsent writers win', async () => {
      for (let round = 0; round < 5; round++) {
        const key = `race/${round}`;
        const bodies = [randomBytes(300_000), randomBytes(300_000)];
        const results = await Promise.allSettled(bodies.map((b) => be.put(key, b, { ifAbsent: true })));
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        assert.equal(won.length, 1, `round ${round}: exactly one winner`);
        const lost = results.find((r) => r.status === 'rejected');
        assert.ok(lost?.status === 'rejected' && lost.reason instanceof ObjectExistsError, 'the loser sees ObjectExistsError');
        assert.deepEqual(await be.get(key, WHOLE), bodies[won[0] ?? -1], 'the stored object is the winner’s');
      }
    });

    it('round-trips a 20 MiB buffer', async () => {
      const data = randomBytes(20 * MiB);
      await be.put('large/buffer', data);
      assert.equal((await be.stat('large/buffer'))?.size, data.length);
      assert.equal(sha256(await be.get('large/buffer', WHOLE)), sha256(data));
      const slice = await be.get('large/buffer', { offset: 16 * MiB - 7, length: 2 * MiB });
      assert.equal(sha256(slice), sha256(data.subarray(16 * MiB - 7, 18 * MiB - 7)), 'a range across a part boundary');
    });

    it('round-trips an AsyncIterable body in uneven chunks', async () => {
      const chunks = Array.from({ length: 23 }, (_, i) => randomBytes(MiB - 1000 + i * 97));
      const data = Buffer.concat(chunks);
      await be.put('large/stream', iterate(chunks));
      assert.equal((await be.stat('large/stream'))?.size, data.length);
      assert.equal(sha256(await be.get('large/stream', WHOLE)), sha256(data));
    });

    it('round-trips a body of thousands of small pieces, some empty', async () => {
      // A brick of small files: more pieces than one gathered write takes.
      const chunks = Array.from({ length: 3000 }, (_, i) => randomBytes(i % 7 === 0 ? 0 : 1 + ((i * 7919) % 5000)));
      await be.put('small/pieces', iterate(chunks));
      assert.equal(sha256(await be.get('small/pieces', WHOLE)), sha256(Buffer.concat(chunks)));
    });

    it('takes a function that opens the body', async () => {
      const chunks = [randomBytes(1000), randomBytes(3000)];
      let opened = 0;
      await be.put('fn/body', () => {
        opened++;
        return iterate(chunks);
      });
      assert.equal(opened, 1);
      assert.deepEqual(await be.get('fn/body', WHOLE), Buffer.concat(chunks));
    });

    it('leaves nothing behind when a streamed put fails', async () => {
      const before = await listKeys(be, '');
      await assert.rejects(be.put('atomic/broken', failingAfter(3 * MiB)), /source failed/);
      assert.equal(await be.stat('atomic/broken'), null);
      assert.deepEqual(await listKeys(be, ''), before, 'no partial object or temp name is listed');
    });

    it('never lists a partial object while puts run', async () => {
      const data = randomBytes(4 * MiB);
      const writes = Promise.all([0, 1, 2, 3].map((i) => be.put(`atomic/w${i}`, data)));
      let done = false;
      void writes.finally(() => (done = true));
      const seen = new Set<string>();
      while (!done) {
        for (const o of await collect(be.list('atomic/'))) {
          seen.add(o.key);
          assert.equal(o.size, data.length, `${o.key} is listed only when complete`);
        }
      }
      await writes;
      for (const k of seen) assert.match(k, /^atomic\/w[0-3]$/);
      assert.deepEqual(await listKeys(be, 'atomic/'), ['atomic/w0', 'atomic/w1', 'atomic/w2', 'atomic/w3']);
    });

    it('rejects malformed keys', async () => {
      for (const bad of ['', '/abs', '../up', 'a/../b', 'a//b', 'a/', './a', '.tmp-x', 'a/.tmp-1']) {
        await assert.rejects(be.put(bad, Buffer.from('x')), RangeError, `put ${JSON.stringify(bad)}`);
        await assert.rejects(be.get(bad, WHOLE), RangeError, `get ${JSON.stringify(bad)}`);
      }
      await assert.rejects(collect(be.list('../')), RangeError);
    });

    it('answers not-archived to restore requests for plain objects', async () => {
      await be.put('restore/plain', Buffer.from('p'));
      assert.equal(await be.requestRestore('restore/plain', 1, 'Bulk'), 'not-archived');
    });
  });
}

export async function collect(it: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of it) out.push(o);
  return out;
}

export async function listKeys(be: Backend, prefix: string): Promise<string[]> {
  return (await collect(be.list(prefix))).map((o) => o.key).sort();
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function* iterate(chunks: Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const c of chunks) {
    await new Promise((resolve) => setImmediate(resolve));
    yield c;
  }
}

/** A body that yields `bytes` bytes in 1 MiB chunks, then throws. */
export async function* failingAfter(bytes: number): AsyncIterable<Uint8Array> {
  for (let sent = 0; sent < bytes; sent += MiB) yield randomBytes(MiB);
  throw new Error('source failed');
}
