/**
 * Planning reads of one brick: coalescing wanted chunks into ranged reads (gaps up to the
 * bound read through, a read stopping once it reaches its length bound), and which
 * stretches are worth reading whole.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coalesce, StretchPlan } from '../../src/read/plan';

const chunks = [
  { offset: 300, length: 100 }, // given out of order: reads come sorted
  { offset: 0, length: 100 },
  { offset: 100, length: 100 },
  { offset: 250, length: 50 },
  { offset: 1000, length: 10 },
];

test('neighbours and small gaps make one read; a large gap starts another', () => {
  assert.deepEqual(coalesce(chunks, 60), [
    { start: 0, end: 400, chunks: [1, 2, 3, 0] },
    { start: 1000, end: 1010, chunks: [4] },
  ]);
  assert.deepEqual(
    coalesce(chunks, 0).map((r) => [r.start, r.end]),
    [
      [0, 200],
      [250, 400],
      [1000, 1010],
    ],
  );
});

test('a read grows past its length bound by one chunk at most', () => {
  assert.deepEqual(
    coalesce(chunks, 60, 150).map((r) => r.chunks),
    [[1, 2], [3, 0], [4]],
  );
  assert.deepEqual(
    coalesce(chunks, 1000, 1).map((r) => r.chunks),
    [[1], [2], [3], [0], [4]],
  );
});

test('a stretch is read whole when dense enough, and, when asked, only if its chunks are small', () => {
  const plan = () => {
    const p = new StretchPlan<string>();
    for (let i = 0; i < 10; i++) p.add('small', i * 1000, 1000); // dense, 1 kB chunks
    p.add('large', 0, 300_000); // dense, 300 kB chunks
    p.add('large', 300_000, 300_000);
    p.add('sparse', 0, 1000); // 2 kB used of 1 MB
    p.add('sparse', 999_000, 1000);
    p.add('small', 5000, 1000); // noted again: counts once
    return p;
  };
  assert.deepEqual([...plan().dense(Infinity).keys()].sort(), ['large', 'small']);
  assert.deepEqual([...plan().dense(Infinity, 128 * 1024).keys()], ['small']);
  assert.deepEqual([...plan().dense(5000).keys()], [], 'longer than allowed');
});
