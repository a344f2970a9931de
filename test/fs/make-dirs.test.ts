import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeDirs } from '../../src/fs/make-dirs';
import { makeTempDir, TempDir } from '../support/tmp';

let t: TempDir;
before(async () => {
  t = await makeTempDir('make-dirs');
});
after(() => t.cleanup());

test('creates missing parents and answers the first directory it created', async () => {
  const deep = join(t.path, 'a', 'b', 'c');
  assert.equal(await makeDirs(deep, 0o700), join(t.path, 'a'));
  assert.ok((await stat(deep)).isDirectory());
  assert.equal((await stat(join(t.path, 'a'))).mode & 0o777, 0o700 & ~process.umask());
  assert.equal(await makeDirs(deep), undefined, 'an existing directory is not an error');
  await mkdir(join(t.path, 'x'));
  assert.equal(await makeDirs(join(t.path, 'x', 'y')), join(t.path, 'x', 'y'));
});

test('a file in the way fails as mkdir does', async () => {
  await writeFile(join(t.path, 'file'), 'x');
  await assert.rejects(makeDirs(join(t.path, 'file')), { code: 'EEXIST' });
  await assert.rejects(makeDirs(join(t.path, 'file', 'sub')), { code: 'ENOTDIR' });
});

test('where mkdir answers ENOENT under an existing directory, it fails instead of looping', { skip: !existsSync('/proc/1') }, async () => {
  await assert.rejects(makeDirs('/proc/1/dtar-test/sub'), { code: 'ENOENT' });
});
