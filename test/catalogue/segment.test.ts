/**
 * Catalogue segment version 2's lookup (docs/FORMAT.md §6): an entry tells where a chunk lies
 * only to whoever has the chunk's id, an entry moved under another chunk's tag opens for
 * neither, and the passphrase's reader finds a lookup altered by a single bit.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { decodeSegment, dedupTag, encodeBrickRecord, lookupEntry, openPlace, sealSegment, segmentLookup } from '../../src/catalogue/segment';
import { CorruptDataError } from '../../src/errors';

const keys = { data: randomBytes(32), x25519: randomBytes(32) };
const chunks = [0, 1, 2].map((i) => ({ id: randomBytes(32), offset: i * 1000, storedLength: 900 + i, plainLength: 2000 }));
const brick = { id: randomBytes(32), size: 5000, treeHash: randomBytes(32), chunks };
const segment = sealSegment({ dataKey: keys.data }, [encodeBrickRecord(brick)]);

test("a lookup entry opens only under its chunk's id, and names no chunk", () => {
  const lookup = segmentLookup(segment, 'segment')!;
  assert.equal(lookup.count, 3);
  for (const c of chunks) assert.equal(segment.indexOf(c.id), -1, 'no chunk id in the segment');
  const entries = [0, 1, 2].map((i) => lookupEntry(lookup, i));
  for (const c of chunks) {
    const mine = entries.find((e) => e.tag.equals(dedupTag(c.id)))!;
    assert.deepEqual(openPlace(c.id, mine.tag, mine.sealed, lookup.bricks), { brick: brick.id, offset: c.offset, storedLength: c.storedLength });
    // Another chunk's entry, filed under this chunk's tag (a copy by someone without the ids), opens to nothing.
    for (const other of entries.filter((e) => e !== mine)) {
      assert.equal(openPlace(c.id, mine.tag, other.sealed, lookup.bricks), null);
      assert.equal(openPlace(c.id, other.tag, other.sealed, lookup.bricks), null);
    }
    assert.equal(openPlace(randomBytes(32), mine.tag, mine.sealed, lookup.bricks), null, 'nor under a guessed id');
  }
});

test('the passphrase reads the records, and finds any bit of the lookup altered', () => {
  assert.deepEqual(decodeSegment(keys, segment, 'segment'), [brick]);
  const lookupAt = segment.length - segmentLookup(segment, 'segment')!.entries.length;
  for (const at of [lookupAt - 1, lookupAt + 5, segment.length - 1]) {
    const bad = Buffer.from(segment);
    bad[at]! ^= 1;
    assert.throws(() => decodeSegment(keys, bad, 'segment'), CorruptDataError);
  }
});
