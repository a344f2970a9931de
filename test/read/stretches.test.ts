/**
 * The one cache of brick stretches read whole: read once for every chunk read from it, kept
 * within its memory, least recently used let go first; a stretch whose chunks the reader
 * named (restore, extract) let go once they have all been read, and then not read again;
 * memory of a stretch let go reused for the next.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ByteRange } from '../../src/store/backend';
import { StretchPlan } from '../../src/read/plan';
import { BrickBytes, StretchCache } from '../../src/read/stretches';

const MiB = 1024 * 1024;

/** A plan of dense stretches: brick name -> the chunks [offset, length) noted in it. */
function plan(bricks: Record<string, [number, number][]>): StretchPlan<string> {
  const p = new StretchPlan<string>();
  for (const [hex, chunks] of Object.entries(bricks)) for (const [o, l] of chunks) p.add(hex, o, l);
  return p;
}

/** A store that counts reads and fills what it reads with the brick's first letter. */
function store(): { reads: string[]; intos: ArrayBuffer[]; read(hex: string): (range: ByteRange, into: Buffer) => Promise<Buffer> } {
  const reads: string[] = [];
  const intos: ArrayBuffer[] = [];
  return {
    reads,
    intos,
    read: (hex) => async (range, into) => {
      reads.push(hex);
      intos.push(into.buffer as ArrayBuffer);
      return into.subarray(0, range.length).fill(hex.charCodeAt(0));
    },
  };
}

const first = (s: BrickBytes): number => s.bytes[0]!;

test('a stretch is read once for all its chunks; a brick without one reads by ranges', async () => {
  const cache = StretchCache.of(plan({ a: [[0, MiB], [MiB, MiB]], b: [[0, 1000], [5 * MiB, 1000]] }), 64 * MiB, Infinity, (h) => h, false);
  const st = store();
  assert.equal(await cache.with('a', st.read('a'), first), 'a'.charCodeAt(0));
  assert.equal(await cache.with('a', st.read('a'), (s) => [s.start, s.end, s.bytes.length]).then((x) => x!.join()), [0, 2 * MiB, 2 * MiB].join());
  assert.deepEqual(st.reads, ['a'], 'read once');
  assert.equal(await cache.with('b', st.read('b'), first), null, 'sparse: not planned');
});

test('past its memory, the least recently used stretch is let go and read again when used', async () => {
  const bricks = { a: [[0, 10 * MiB]], b: [[0, 10 * MiB]], c: [[0, 10 * MiB]] } as Record<string, [number, number][]>;
  const cache = StretchCache.of(plan(bricks), 25 * MiB, Infinity, (h) => h, false);
  const st = store();
  for (const h of ['a', 'b', 'a', 'c', 'a', 'b']) await cache.with(h, st.read(h), first);
  assert.deepEqual(st.reads, ['a', 'b', 'c', 'b'], 'c pushed out b, not a (used last)');
  assert.ok(cache.size <= 25 * MiB);
});

test("a stretch whose chunks are named is let go once they are read, its memory reused, and not read again", async () => {
  const cache = StretchCache.of(plan({ a: [[0, MiB], [MiB, MiB]], b: [[0, 2 * MiB]] }), 64 * MiB, Infinity, (h) => h, true);
  const st = store();
  await cache.with('a', st.read('a'), first);
  cache.release('a', [0]);
  assert.equal(cache.size, 2 * MiB, 'one chunk left to read: kept');
  cache.release('a', [MiB]);
  assert.equal(cache.size, 0, 'all read: let go');
  await new Promise((r) => setImmediate(r)); // the buffer goes back once its read has settled
  assert.equal(await cache.with('a', st.read('a'), first), null, 'not read again: later reads of it go by ranges');
  await cache.with('b', st.read('b'), first);
  assert.deepEqual(st.reads, ['a', 'b']);
  assert.equal(st.intos[1], st.intos[0], "b was read into a's memory");
});

test('a tracked stretch pushed out early is not read again; one that failed to read is', async () => {
  const cache = StretchCache.of(plan({ a: [[0, 10 * MiB]], b: [[0, 10 * MiB]], c: [[0, 10 * MiB]] }), 25 * MiB, Infinity, (h) => h, true);
  const st = store();
  for (const h of ['a', 'b', 'c']) await cache.with(h, st.read(h), first);
  assert.equal(await cache.with('a', st.read('a'), first), null, 'a was pushed out with chunks unread: they go by ranges');
  let fail = true;
  const flaky = (range: ByteRange, into: Buffer): Promise<Buffer> => (fail ? Promise.reject(new Error('store down')) : st.read('b')(range, into));
  const again = StretchCache.of(plan({ b: [[0, MiB]] }), 25 * MiB, Infinity, (h) => h, true);
  await assert.rejects(again.with('b', flaky, first), /store down/);
  fail = false;
  assert.equal(await again.with('b', flaky, first), 'b'.charCodeAt(0), 'read again on the next use');
});

test('a stretch let go while a reader waited for it gives that reader null', async () => {
  const cache = StretchCache.of(plan({ a: [[0, 8 * MiB]], b: [[0, 8 * MiB]], c: [[0, 8 * MiB]] }), 20 * MiB, Infinity, (h) => h, false);
  let done!: () => void;
  const slow = (range: ByteRange, into: Buffer): Promise<Buffer> => new Promise((r) => (done = () => r(into.subarray(0, range.length))));
  const waiting = cache.with('a', slow, first);
  const st = store();
  for (const h of ['b', 'c']) await cache.with(h, st.read(h), first); // c pushes a out while its read is in flight
  done();
  assert.equal(await waiting, null);
});
