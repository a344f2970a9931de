/**
 * Coalescing the chunks wanted from one brick into ranged reads: gaps up to the bound are
 * read through, and a read stops growing once it reaches its length bound.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coalesce } from '../../src/brick/reads';

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
