/**
 * The brick builder copies chunks into its own buffer and reuses built bricks' buffers:
 * a brick's parts must lay out exactly the chunks its table names, its id must be the
 * SHA-256 of its bytes, and a brick built into a reused buffer must be as correct.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { BrickBuilder } from '../../src/brick/builder';
import { BRICK_TRAILER_SIZE, decodeTable, parseTrailer } from '../../src/brick/format';

const dataKey = randomBytes(32);

function chunks(n: number): { id: Buffer; sealed: Buffer; plainLength: number }[] {
  return Array.from({ length: n }, (_, i) => ({ id: randomBytes(32), sealed: randomBytes(100 + ((i * 7919) % 3000)), plainLength: 5000 + i }));
}

function check(built: ReturnType<BrickBuilder['build']>, added: ReturnType<typeof chunks>): void {
  const bytes = Buffer.concat(built.parts);
  assert.equal(bytes.length, built.size);
  assert.ok(createHash('sha256').update(bytes).digest().equals(built.id), 'the id is the SHA-256 of the bytes');
  const byId = new Map(added.map((c) => [c.id.toString('hex'), c]));
  assert.equal(built.chunks.length, added.length);
  for (const c of built.chunks) {
    const want = byId.get(c.id.toString('hex'))!;
    assert.ok(bytes.subarray(c.offset, c.offset + c.storedLength).equals(want.sealed), 'the table places each chunk where its bytes are');
    assert.equal(c.plainLength, want.plainLength);
  }
  const t = parseTrailer(bytes.subarray(bytes.length - BRICK_TRAILER_SIZE), bytes.length, 'brick');
  const table = decodeTable({ data: dataKey, x25519: Buffer.alloc(32) }, t, bytes.subarray(t.offset, t.offset + t.length), 'brick');
  assert.deepEqual(table, built.chunks, 'the brick describes itself');
}

test('a brick holds the chunks its table names, also in a reused or grown buffer', () => {
  const builder = new BrickBuilder(64 * 1024, 1);
  const first = chunks(30); // ~45 KiB: fits the buffer
  for (const c of first) builder.add({ id: c.id, sealed: [c.sealed.subarray(0, 12), c.sealed.subarray(12)], plainLength: c.plainLength });
  const one = builder.build({ dataKey });
  check(one, first);
  builder.reuse(one.memory);

  const second = chunks(30);
  for (const c of second) builder.add({ id: c.id, sealed: [c.sealed], plainLength: c.plainLength });
  const two = builder.build({ dataKey });
  assert.equal(two.memory, one.memory, "the second brick is built in the first one's buffer");
  check(two, second);
  builder.reuse(two.memory);

  const third = chunks(80); // ~120 KiB: grows past the reused buffer
  for (const c of third) builder.add({ id: c.id, sealed: [c.sealed], plainLength: c.plainLength });
  const three = builder.build({ dataKey });
  assert.ok(three.memory.length > two.memory.length, 'a larger brick grows its buffer');
  check(three, third);
});
