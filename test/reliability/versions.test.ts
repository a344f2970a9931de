/**
 * Objects a newer dtar wrote: a body record, a catalogue segment, a brick, a chunk encoding
 * and a stored index copy, each with a version this dtar does not know, planted in a real
 * store. Every command that meets one stops with one line saying to upgrade dtar (exit 2),
 * never calling it damage; `repair` leaves such segments and bricks as they are and says so.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { open, seal } from '../../src/crypto/aead';
import { readIndex } from '../../src/index/reader';
import type { ChunkRef } from '../../src/index/record';
import { Repository } from '../../src/repo/repository';
import { LocalBackend } from '../../src/store/local';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';
import { assertOneLineError, walk } from './support';
import { randomTar } from '../support/random';

const PASSPHRASE = 'versions passphrase';
const UPGRADE = /has format version 2, which this dtar does not support; upgrade dtar/;

let s: TestStore;
let index: string;
let repo: Repository;

before(async () => {
  s = await testStore(PASSPHRASE);
  const tar = await randomTar(s.dir, { docs: [5000, 70_000] });
  ok(await dtar(['init', '--quiet'], { env: s.env }), 'init');
  index = join(s.dir, 'backup.idx');
  ok(await dtar(['ingest', tar, '-o', index, '--quiet'], { env: s.env }), 'ingest');
  repo = await Repository.open(new LocalBackend(s.store), PASSPHRASE, null);
});
after(() => s.cleanup());

/** Writes `bytes` to a new object of the local store; returns its path. */
async function plant(key: string, bytes: Buffer): Promise<string> {
  const file = join(s.store, key);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, bytes);
  return file;
}

test('an index whose body record is of a newer version: ls and restore say to upgrade', async () => {
  const bytes = await readFile(index);
  const at = bytes.indexOf('DTR1');
  assert.ok(at > 0);
  bytes[at + 3] = 0x32; // "DTR2"
  const newer = join(s.dir, 'newer-record.idx');
  await writeFile(newer, bytes);
  assertOneLineError(await dtar(['ls', newer], { env: s.env }), 2, /the body record of .*newer-record\.idx: .* has format version 2, which this dtar does not support; upgrade dtar/);
  const out = join(s.dir, 'out.tar');
  assertOneLineError(await dtar(['restore', newer, '-o', out], { env: s.env }), 2, UPGRADE);
  await assert.rejects(stat(out), 'nothing written');
});

describe('a catalogue segment of a newer version', () => {
  let segment: string;
  let sealed: Buffer;
  before(async () => {
    // Since version 2 the version is in a plaintext magic, as a newer dtar would write it.
    sealed = Buffer.concat([Buffer.from('DTCAT3\0\0'), Buffer.alloc(64)]);
    segment = await plant(`catalogue/zzzzzzzzz-${'0'.repeat(24)}`, sealed);
  });
  after(() => rm(segment, { force: true }));

  test('repair leaves it as it is and reports it', async () => {
    for (const args of [['repair', '--dry-run'], ['repair']]) {
      const r = await dtar(args, { env: s.env });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^left alone: catalogue segment catalogue\/zzzzzzzzz-0+ has format version 3, which this dtar does not support; upgrade dtar$/m);
      assert.match(r.stderr, /^dtar: 1 catalogue segments or bricks are of a newer format and were left alone \(see above\); upgrade dtar$/m);
      assert.doesNotMatch(r.stderr, /damaged/);
      assert.ok((await readFile(segment)).equals(sealed), `${args.join(' ')}: the segment is untouched`);
    }
  });

  test('verify and ingest stop with one line', async () => {
    assertOneLineError(await dtar(['verify', index], { env: s.env }), 2, /has format version 3, which this dtar does not support; upgrade dtar/);
    const tar = await randomTar(s.dir, { more: [100] }, 'more.tar');
    assertOneLineError(await dtar(['ingest', tar, '-o', join(s.dir, 'more.idx')], { env: s.env }), 2, /has format version 3, which this dtar does not support; upgrade dtar/);
  });
});

test('a brick of a newer version: repair leaves it alone', async () => {
  const brick = (await walk(s.store)).find((f) => f.startsWith('bricks/'))!;
  const bytes = await readFile(join(s.store, brick));
  bytes[bytes.length - 1] = 0x33; // "DTARBRK3"
  const hex = createHash('sha256').update(bytes).digest('hex');
  const planted = await plant(`bricks/${hex.slice(0, 2)}/${hex}`, bytes);
  try {
    const before = (await walk(s.store)).filter((f) => f.startsWith('catalogue/'));
    const r = await dtar(['repair'], { env: s.env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^left alone: brick ${hex} has format version 3, which this dtar does not support; upgrade dtar$`, 'm'));
    assert.ok((await readFile(planted)).equals(bytes), 'the brick is untouched');
    assert.deepEqual((await walk(s.store)).filter((f) => f.startsWith('catalogue/')), before, 'no segment written for it');
  } finally {
    await rm(planted);
  }
});

test('a chunk in a newer encoding: restore and cat say to upgrade', async () => {
  let chunk: ChunkRef | undefined;
  let path = '';
  for await (const item of readIndex(Readable.from([await readFile(index)]), index, repo.indexAuth)) {
    if (item.kind === 'entry' && item.record && item.record.body.chunks.length > 0) {
      chunk = item.record.body.chunks[0];
      path = item.header.path;
      break;
    }
  }
  assert.ok(chunk);
  const hex = chunk.brick.toString('hex');
  const file = join(s.store, 'bricks', hex.slice(0, 2), hex);
  const good = await readFile(file);
  const aad = Buffer.concat([Buffer.from('dtar-chunk-v1\0'), chunk.id]);
  const body = open(repo.keys.data, good.subarray(chunk.offset, chunk.offset + chunk.storedLength), aad, 'chunk');
  body[0] = 2; // an encoding this dtar does not know, sealed as a newer dtar would
  const bad = Buffer.from(good);
  seal(repo.keys.data, body, aad).copy(bad, chunk.offset);
  await writeFile(file, bad);
  try {
    assertOneLineError(await dtar(['restore', index, '-o', join(s.dir, 'chunk.tar')], { env: s.env }), 2, new RegExp(`brick ${hex}: a chunk's encoding ${UPGRADE.source}`));
    assertOneLineError(await dtar(['cat', index, path], { env: s.env }), 2, UPGRADE);
  } finally {
    await writeFile(file, good);
  }
});

test('a stored index copy of a newer version: archives lists it apart, saying to upgrade', async () => {
  const copy = (await walk(s.store)).find((f) => f.startsWith('indexes/'))!;
  const bytes = await readFile(join(s.store, copy));
  bytes[5] = 0x39; // "DTIDX9"
  const planted = await plant(`${copy}-newer`, bytes);
  try {
    const r = await dtar(['archives'], { env: s.env });
    assert.equal(r.code, 0, r.stderr);
    const line = r.stdout.toString().split('\n').find((l) => l.includes('-newer'));
    assert.match(line ?? '', /damaged: .*format version 9, which this dtar does not support; upgrade dtar/);
  } finally {
    await rm(planted);
  }
});
