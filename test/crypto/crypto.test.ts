/** Sealing, padding and chunk records: what is stored authenticates, and nothing else does. */
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, seal, sealPieces, tryOpen } from '../../src/crypto/aead';
import { padme } from '../../src/crypto/padding';
import { chunkId, ChunkSealer, openChunk, sealedChunkPrefix } from '../../src/brick/chunk-codec';
import { sealToStore, x25519PublicKey } from '../../src/crypto/store-sealing';
import { CorruptDataError } from '../../src/errors';

test('PADMÉ pads by at most 12% and leaks few bits of the length', () => {
  for (const n of [2, 3, 100, 511, 4096, 65537, 1_000_003, 4_194_304, 123_456_789]) {
    const p = padme(n);
    assert.ok(p >= n && p <= n * 1.12 + 1, `padme(${n}) = ${p}`);
  }
  const distinct = new Set<number>();
  for (let n = 900_000; n < 1_100_000; n += 1) distinct.add(padme(n));
  assert.ok(distinct.size < 20, `200,000 lengths near 1 MB map to ${distinct.size} padded lengths`);
});

test('sealed data opens only with its key and associated data, and any flipped bit is caught', () => {
  const key = randomBytes(32);
  const sealed = seal(key, Buffer.from('secret'), Buffer.from('aad'));
  assert.equal(open(key, sealed, Buffer.from('aad'), 'x').toString(), 'secret');
  assert.throws(() => open(randomBytes(32), sealed, Buffer.from('aad'), 'x'), CorruptDataError);
  assert.throws(() => open(key, sealed, Buffer.from('other'), 'x'), CorruptDataError);
  for (const i of [0, 12, sealed.length - 1]) {
    const bad = Buffer.from(sealed);
    bad[i]! ^= 1;
    assert.throws(() => open(key, bad, Buffer.from('aad'), 'x'), CorruptDataError);
  }
});

test('a stored chunk hides its exact length, round-trips, and cannot pass for another chunk', () => {
  const dataKey = randomBytes(32);
  const idKey = randomBytes(32);
  const keys = { data: dataKey, chunkId: idKey, x25519: randomBytes(32) };
  const sealer = new ChunkSealer(3);
  // Ingest stores a chunk as these three parts laid end to end.
  const seal = (id: Buffer, p: Buffer): Buffer => Buffer.concat(sealer.sealParts(dataKey, id, p));
  const plain = randomBytes(300_001);
  const id = chunkId(idKey, plain);
  const sealed = seal(id, plain);
  assert.ok(sealed.length > plain.length && sealed.length <= plain.length * 1.12 + 64, 'random data is stored raw, padded');
  assert.ok(openChunk(keys, id, plain.length, sealed, 'b', 'every').equals(plain));
  const other = chunkId(idKey, Buffer.from('other'));
  assert.throws(() => openChunk(keys, other, plain.length, sealed, 'b', 'writer-sealed'), CorruptDataError);
  const text = Buffer.from('compressible '.repeat(10000));
  const tid = chunkId(idKey, text);
  const tsealed = seal(tid, text);
  assert.ok(tsealed.length < text.length / 10, 'compressible data is compressed');
  assert.ok(openChunk(keys, tid, text.length, tsealed, 'b', 'writer-sealed').equals(text));
});

test('the read path trusts the data key seal for a chunk id, and rechecks the id of every chunk a writer key sealed', () => {
  const keys = { data: randomBytes(32), chunkId: randomBytes(32), x25519: randomBytes(32) };
  const sealer = new ChunkSealer(3);
  const plain = Buffer.from('what the index says is there '.repeat(500));
  const wrong = Buffer.from('what someone put in its place '.repeat(500));
  const id = chunkId(keys.chunkId, plain);
  // Only a holder of the data key can seal bytes under an id: the owner's own chunks are
  // authenticated by it, so reads skip the MAC and only verify's deep check recomputes it.
  const owned = Buffer.concat(sealer.sealParts(keys.data, id, wrong));
  assert.ok(openChunk(keys, id, wrong.length, owned, 'b', 'writer-sealed').equals(wrong));
  assert.throws(() => openChunk(keys, id, wrong.length, owned, 'b', 'every'), /does not match its id/);
  // A writer key seals to the store under any id it likes: those chunks are checked on every read.
  const agreement = sealToStore(x25519PublicKey(keys.x25519));
  const bySealer = (p: Buffer): Buffer => Buffer.concat([sealedChunkPrefix(agreement.ephemeral), ...sealer.sealParts(agreement.key('chunks'), id, p, true)]);
  assert.ok(openChunk(keys, id, plain.length, bySealer(plain), 'b', 'writer-sealed').equals(plain));
  assert.throws(() => openChunk(keys, id, wrong.length, bySealer(wrong), 'b', 'writer-sealed'), /does not match its id/);
});

test('sealPieces writes what seal writes for the joined pieces: it opens, and a changed byte does not', async () => {
  const key = randomBytes(32);
  const parts = [randomBytes(10), Buffer.alloc(0), randomBytes(70_000), randomBytes(3)];
  const out: Buffer[] = [];
  await sealPieces(key, parts, Buffer.from('aad'), async (b) => void out.push(b));
  const sealed = Buffer.concat(out);
  assert.deepEqual(tryOpen(key, sealed, Buffer.from('aad')), Buffer.concat(parts));
  assert.equal(tryOpen(key, sealed, Buffer.from('other aad')), null);
  sealed[20] = sealed[20]! ^ 1;
  assert.equal(tryOpen(key, sealed, Buffer.from('aad')), null);
});
