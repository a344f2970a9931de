/**
 * The live set prune builds: one bit per chunk of each catalogued brick, marked by the brick
 * and offset an index record names. A chunk stored in two bricks is live only where an archive
 * points; a brick the catalogue does not list is live all the same; marking twice counts once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { BrickRecord } from '../../src/catalogue/segment';
import { LiveSet } from '../../src/retention/live-set';

/** A brick record of chunks with the given stored lengths, laid out one after another (listed out of order, as records may be). */
function brick(lengths: number[]): BrickRecord {
  let offset = 0;
  const chunks = lengths.map((storedLength) => {
    const c = { id: randomBytes(32), offset, storedLength, plainLength: storedLength };
    offset += storedLength;
    return c;
  });
  return { id: randomBytes(32), size: offset, treeHash: randomBytes(32), chunks: chunks.reverse() };
}

describe('LiveSet', () => {
  it('counts live and dead bytes and live runs per brick, from the places marked', () => {
    const a = brick([100, 200, 300, 400, 500]);
    const live = new LiveSet();
    live.addBrick(a);
    const at = (i: number): { brick: Buffer; offset: number } => ({ brick: a.id, offset: [0, 100, 300, 600, 1000][i]! });
    live.mark(at(0));
    live.mark(at(1));
    live.mark(at(3));
    live.mark(at(1)); // used by a second archive
    assert.deepEqual(live.usage(a.id.toString('hex')), { live: 100 + 200 + 400, dead: 300 + 500, liveRuns: 2 });
    assert.equal(live.chunks, 3);
    assert.ok(live.bricks.has(a.id.toString('hex')));
  });

  it('a chunk stored in two bricks is live only in the one an archive points to', () => {
    const a = brick([100, 100]);
    const b = brick([100]);
    b.chunks[0]!.id = a.chunks[1]!.id; // the chunk at offset 0 of a, stored again in b
    const live = new LiveSet();
    live.addBrick(a);
    live.addBrick(b);
    live.mark({ brick: b.id, offset: 0 });
    assert.deepEqual(live.usage(a.id.toString('hex')), { live: 0, dead: 200, liveRuns: 0 });
    assert.deepEqual(live.usage(b.id.toString('hex')), { live: 100, dead: 0, liveRuns: 1 });
    assert.ok(!live.bricks.has(a.id.toString('hex')));
  });

  it('a brick the catalogue does not list is live, with no usage to report', () => {
    const live = new LiveSet();
    const unlisted = randomBytes(32);
    live.mark({ brick: unlisted, offset: 0 });
    assert.ok(live.bricks.has(unlisted.toString('hex')));
    assert.equal(live.usage(unlisted.toString('hex')), undefined);
    assert.equal(live.chunks, 0);
  });

  it('keeps the first record of a brick listed twice', () => {
    const a = brick([100, 100]);
    const live = new LiveSet();
    live.addBrick(a);
    live.addBrick({ ...a, chunks: [] });
    live.mark({ brick: a.id, offset: 100 });
    assert.deepEqual(live.usage(a.id.toString('hex')), { live: 100, dead: 100, liveRuns: 1 });
  });

  it('a repacked brick out of the catalogue marks, through its forwarding record, where its used chunks lie now, over a chain', () => {
    const old = randomBytes(32); // repacked, then out of the catalogue: known by its record only
    const mid = brick([10, 20, 30]); // where old's chunks went; repacked too, still listed
    const last = brick([30, 10]); // where mid's went
    const oldRecord = new Map([
      [0, { oldOffset: 0, newBrick: mid.id, newOffset: 0, storedLength: 10 }],
      [500, { oldOffset: 500, newBrick: mid.id, newOffset: 30, storedLength: 30 }],
    ]);
    const midRecord = new Map([
      [0, { oldOffset: 0, newBrick: last.id, newOffset: 30, storedLength: 10 }],
      [30, { oldOffset: 30, newBrick: last.id, newOffset: 0, storedLength: 30 }],
    ]);
    const live = new LiveSet();
    live.addBrick(mid);
    live.addBrick(last);
    live.addMoved(old.toString('hex'), oldRecord);
    live.addMoved(mid.id.toString('hex'), midRecord); // listed already: its catalogue record stays
    live.mark({ brick: old, offset: 500 }); // an old index names only the second chunk
    assert.equal(live.chunks, 0, 'a brick known by its record alone counts no chunk');
    assert.equal(live.follow(old.toString('hex'), oldRecord), 1);
    assert.equal(live.follow(mid.id.toString('hex'), midRecord), 1);
    assert.equal(live.follow(old.toString('hex'), oldRecord), 0, 'following again marks nothing new');
    assert.ok(live.isUsed(mid.id.toString('hex'), 30) && !live.isUsed(mid.id.toString('hex'), 0));
    assert.deepEqual(live.usage(last.id.toString('hex')), { live: 30, dead: 10, liveRuns: 1 });
    assert.equal(live.usage(old.toString('hex')), undefined);
    assert.equal(live.chunks, 2);
    const listedAt = (hex: string, offsets: number[]): boolean => live.everyUsed(hex, (offset) => offsets.includes(offset));
    assert.ok(listedAt(mid.id.toString('hex'), [30]) && !listedAt(mid.id.toString('hex'), [0]), 'everyUsed tests the used chunks only');
    assert.ok(listedAt(old.toString('hex'), []), 'a brick the catalogue does not list passes');
  });
});
