/**
 * Hostile archives, crafted with the header codec: `..` components, absolute paths, writes
 * through a symlink the archive made, hard links pointing outside. Nothing may land outside
 * the target directory; each refusal is a one-line message and the exit code is 2.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { brickKey } from '../../src/brick/format';
import { indexFileBytes } from '../../src/index/file';
import { visitIndex } from '../../src/index/reader';
import type { ChunkRef } from '../../src/index/record';
import { encodeHeader, paxHeaderBlocks } from '../../src/tar/header';
import { dir, extractCrafted as extractCraftedIn, Extracted, file, symlink } from '../support/crafted';
import { dtar, testStore, type TestStore } from '../support/dtar';

let tmp: TestStore;
let env: NodeJS.ProcessEnv;
before(async () => {
  tmp = await testStore('pw');
  env = tmp.env;
  assert.equal((await dtar(['init'], { env, inProcess: true })).code, 0);
});
after(() => tmp.cleanup());

/** Ingests a crafted tar and extracts it into a fresh box/target. */
const extractCrafted = (label: string, members: Buffer[]): Promise<Extracted> => extractCraftedIn(env, tmp.dir, label, members);

test('a ".." component is refused, the rest is extracted', async () => {
  const r = await extractCrafted('dotdot', [file('../escaped.txt', 'x'), file('ok/../../escaped2.txt', 'x'), file('fine.txt', 'fine')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^dtar: refusing "\.\.\/escaped\.txt": it has a "\.\." component and would land outside the target directory$/m);
  assert.match(r.stderr, /^dtar: refusing "ok\/\.\.\/\.\.\/escaped2\.txt": /m);
  assert.match(r.stderr, /^dtar: 2 entries were not extracted \(2 refused as unsafe; see above\)$/m);
  assert.deepEqual(r.outside, []);
  assert.equal(await readFile(join(r.target, 'fine.txt'), 'utf8'), 'fine');
});

test('a leading "/" is removed, as GNU tar does', async () => {
  const r = await extractCrafted('absolute', [file('/abs/file.txt', 'inside')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "dtar: removing leading '/' from member names\n");
  assert.equal(await readFile(join(r.target, 'abs/file.txt'), 'utf8'), 'inside');
});

test('nothing is written through a symlink the archive created earlier', async () => {
  const r = await extractCrafted('symlink', [
    encodeHeader({ name: 'esc', typeflag: '2', linkname: '..', mode: 0o777 }),
    file('esc/through.txt', 'x'),
    encodeHeader({ name: 'abs', typeflag: '2', linkname: '/', mode: 0o777 }),
    file('abs/tmp/through-abs.txt', 'x'),
  ]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^dtar: refusing "esc\/through\.txt": it would be written through the symbolic link esc$/m);
  assert.match(r.stderr, /^dtar: refusing "abs\/tmp\/through-abs\.txt": it would be written through the symbolic link abs$/m);
  assert.deepEqual(r.outside, []);
  await assert.rejects(lstat('/tmp/through-abs.txt'));
  assert.ok((await lstat(join(r.target, 'esc'))).isSymbolicLink());
});

test('a symlink replaced by a file is replaced, not written through', async () => {
  const r = await extractCrafted('replace', [encodeHeader({ name: 'f', typeflag: '2', linkname: '../victim', mode: 0o777 }), file('f', 'mine')]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.outside, []);
  assert.equal(await readFile(join(r.target, 'f'), 'utf8'), 'mine');
});

test('hard links pointing outside are refused', async () => {
  await writeFile(join(tmp.dir, 'secret'), 'secret');
  const r = await extractCrafted('hardlink', [
    encodeHeader({ name: 'h1', typeflag: '1', linkname: '../../secret' }),
    encodeHeader({ name: 'h2', typeflag: '1', linkname: join(tmp.dir, 'secret') }),
    encodeHeader({ name: 'lnk', typeflag: '2', linkname: tmp.dir, mode: 0o777 }),
    encodeHeader({ name: 'h3', typeflag: '1', linkname: 'lnk/secret' }),
  ]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^dtar: refusing "\.\.\/\.\.\/secret": it has a "\.\." component/m);
  assert.match(r.stderr, /^dtar: refusing "lnk\/secret": it would be written through the symbolic link lnk$/m);
  // h2's absolute target became target/<tmp>/secret, which does not exist: a plain failure, not an escape.
  await assert.rejects(lstat(join(r.target, 'h1')));
  await assert.rejects(lstat(join(r.target, 'h3')));
  assert.equal((await lstat(join(tmp.dir, 'secret'))).nlink, 1);
});

test('a PAX path record is checked like any other name', async () => {
  const r = await extractCrafted('pax', [paxHeaderBlocks([['path', Buffer.from('../../pax-escape.txt')]], 'PaxHeaders/x'), file('harmless.txt', 'x')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^dtar: refusing "\.\.\/\.\.\/pax-escape\.txt": /m);
  assert.deepEqual(r.outside, []);
  await assert.rejects(lstat(join(tmp.dir, 'pax-escape.txt')));
});

test('a directory emptied by a damaged file and replaced by a symlink is checked again: nothing is written through it', async () => {
  // d/e is made (and found sound) for d/e/z; z's body is damaged, so z is removed again and
  // d/e is left empty; the archive then replaces d/e by a symlink to the box, and puts w there.
  const label = 'emptied';
  const tar = join(tmp.dir, `${label}.tar`);
  const body = randomBytes(4000).toString('hex');
  await writeFile(tar, Buffer.concat([dir('d/'), dir('d/e/'), file('d/e/z', body), symlink('d/e', '../..'), file('d/e/w', 'through'), Buffer.alloc(1024)]));
  const index = join(tmp.dir, `${label}.index.tar`);
  assert.equal((await dtar(['ingest', tar, '-o', index, '--quiet'], { env, inProcess: true })).code, 0);
  let chunk: ChunkRef | undefined;
  // Only to find a chunk to damage: the index's authenticity is not what this test is about.
  await visitIndex(indexFileBytes(index), index, null, (item) => {
    if (item.kind === 'entry' && item.header.path === 'd/e/z') chunk = item.record!.body.chunks[0];
  });
  const brick = join(env.DTAR_STORE!, ...brickKey(chunk!.brick.toString('hex')).split('/'));
  const bytes = await readFile(brick);
  bytes[chunk!.offset + 20]! ^= 0xff;
  await writeFile(brick, bytes);
  const box = join(tmp.dir, label);
  const target = join(box, 'target');
  await mkdir(target, { recursive: true });
  const r = await dtar(['extract', index, '-C', target, '--quiet'], { env, inProcess: true });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^dtar: d\/e\/z: brick [0-9a-f]{64}: authentication failed/m);
  assert.match(r.stderr, /^dtar: refusing "d\/e\/w": it would be written through the symbolic link d\/e$/m);
  assert.deepEqual((await readdir(box)).filter((n) => n !== 'target'), []);
});
