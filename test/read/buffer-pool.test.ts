/**
 * The read path's recycled buffers: sized by class, handed out again once given back, never
 * handed out twice, and only kept while the holder's bound allows.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferPool, classSize, MIN_POOLED } from '../../src/read/buffer-pool';

test('a size class holds the length asked for, with less than a quarter more', () => {
  for (const n of [MIN_POOLED, MIN_POOLED + 1, 100_000, 131_072, 131_073, 1_000_000, 4_194_304, 7_000_001]) {
    const c = classSize(n);
    assert.ok(c >= n && c < n * 1.25 + 1, `${n} -> ${c}`);
    assert.equal(classSize(c), c, `${c} is a class of its own`);
  }
});

test('a buffer given back is handed out again, with its memory', () => {
  const pool = new BufferPool();
  const a = pool.take(300_000);
  assert.equal(a.length, 300_000);
  assert.equal(a.byteOffset, 0);
  assert.equal(a.buffer.byteLength, classSize(300_000));
  a.fill(7);
  pool.give(a, Infinity);
  assert.equal(pool.idleBytes, classSize(300_000));
  const b = pool.take(290_000);
  assert.equal(b.buffer, a.buffer, 'same class: same memory');
  assert.equal(b.length, 290_000);
  assert.equal(pool.idleBytes, 0);
  assert.notEqual(pool.take(290_000).buffer, a.buffer, 'handed out once only');
});

test('a buffer given back twice is handed out once', () => {
  const pool = new BufferPool();
  const a = pool.take(200_000);
  pool.give(a, Infinity);
  pool.give(a, Infinity);
  assert.equal(pool.idleBytes, classSize(200_000));
  const first = pool.take(200_000);
  const second = pool.take(200_000);
  assert.notEqual(first.buffer, second.buffer);
});

test('with slack, a larger buffer given back serves a smaller length; without, only its own class', () => {
  const exact = new BufferPool();
  const roomy = new BufferPool(2);
  for (const pool of [exact, roomy]) pool.give(pool.take(300_000), Infinity);
  assert.notEqual(exact.take(200_000).buffer.byteLength, classSize(300_000));
  const b = roomy.take(200_000);
  assert.equal(b.buffer.byteLength, classSize(300_000), 'reused, though of a larger class');
  assert.equal(b.length, 200_000);
  roomy.give(b, Infinity);
  assert.notEqual(roomy.take(100_000).buffer.byteLength, classSize(300_000), 'not past twice the length');
});

test('past the bound, the oldest buffers kept make room for the one given back', () => {
  const pool = new BufferPool();
  const [a, b, c] = [pool.take(100_000), pool.take(200_000), pool.take(300_000)];
  const bound = classSize(200_000) + classSize(300_000);
  for (const x of [a, b, c]) pool.give(x, bound);
  assert.equal(pool.idleBytes, bound, 'a, the oldest, made room for c');
  assert.notEqual(pool.take(100_000).buffer, a.buffer);
  assert.equal(pool.take(300_000).buffer, c.buffer);
});

test('buffers beyond the bound, small ones and foreign ones are not kept', () => {
  const pool = new BufferPool();
  pool.give(pool.take(200_000), 100_000);
  assert.equal(pool.idleBytes, 0, 'over the bound');
  const small = pool.take(1000);
  assert.equal(small.length, 1000);
  pool.give(small, Infinity);
  pool.give(Buffer.alloc(200_000).subarray(10), Infinity);
  pool.give(Buffer.alloc(200_001), Infinity);
  assert.equal(pool.idleBytes, 0);
  const moved = pool.take(200_000);
  structuredClone(moved, { transfer: [moved.buffer as ArrayBuffer] });
  pool.give(moved, Infinity);
  assert.equal(pool.idleBytes, 0, 'a buffer moved to another thread is gone');
});
