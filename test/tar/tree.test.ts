/**
 * Parsed headers against the truth: the source tree the corpus was made from (types, link
 * targets, modes, times, contents, sparse maps, xattrs) and GNU tar's own listing of each archive.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import type { Stats } from 'node:fs';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { CORPUS_XATTR, buildCorpus, defaultCorpusDir } from '../fixtures/corpus';
import type { TarHeader } from '../../src/tar/types';
import { chunked, readAll } from './collect';

const run = promisify(execFile);

function treePath(tree: string, stored: Buffer): Buffer {
  return Buffer.concat([Buffer.from(tree + '/'), stored]);
}

/** The logical file a sparse entry stands for: its stored segments placed at their offsets. */
function expandSparse(header: TarHeader, body: Buffer): Buffer {
  const sparse = header.sparse;
  assert.ok(sparse);
  const out = Buffer.alloc(sparse.realSize);
  let at = 0;
  for (const segment of sparse.map) {
    body.copy(out, segment.offset, at, at + segment.length);
    at += segment.length;
  }
  assert.equal(at, body.length, `${header.path}: the sparse map accounts for every stored byte`);
  return out;
}

function assertType(header: TarHeader, stat: Stats): void {
  const expected = stat.isDirectory() ? 'directory' : stat.isSymbolicLink() ? 'symlink' : stat.isFIFO() ? 'fifo' : 'file';
  // A hard link entry stands for a regular file that already appeared under another name.
  if (header.type === 'hardlink') assert.equal(expected, 'file', header.path);
  else assert.equal(header.type, expected, header.path);
}

test('headers agree with the source tree', async () => {
  const corpus = await buildCorpus(defaultCorpusDir());
  let sparseSeen = 0;
  let xattrsSeen = 0;
  for (const archive of corpus.archives) {
    if (archive.compressed || archive.name === 'duplicates.tar') continue;
    const input = await fs.readFile(archive.path);
    const { items, bodies } = await readAll(chunked(input, 65536), { keepBodies: true });
    for (const [index, item] of items.entries()) {
      const header = item.header;
      if (!header) continue;
      const where = `${archive.name}: ${header.path}`;
      const file = treePath(corpus.tree, header.pathBytes);
      const stat = await fs.lstat(file);
      assertType(header, stat);
      assert.equal(header.mode & 0o7777, stat.mode & 0o7777, where);
      assert.equal(Math.floor(header.mtime), Math.floor(stat.mtimeMs / 1000), where);
      if (header.type === 'symlink') {
        assert.ok(header.linkpathBytes.equals(await fs.readlink(file, { encoding: 'buffer' })), where);
      }
      if (header.type === 'hardlink') {
        const target = await fs.lstat(treePath(corpus.tree, header.linkpathBytes));
        assert.equal(target.ino, stat.ino, `${where} links to the same inode`);
        assert.equal(item.bodySize, 0, where);
      }
      if (header.type === 'file') {
        const body = bodies.get(index) ?? Buffer.alloc(0);
        const content = header.sparse ? expandSparse(header, body) : body;
        assert.ok(content.equals(await fs.readFile(file)), `${where}: content`);
        if (header.sparse) {
          sparseSeen++;
          assert.equal(header.sparse.realSize, stat.size, where);
          assert.ok(item.bodySize !== undefined && item.bodySize < stat.size || stat.size === 0, `${where} is stored sparsely`);
        }
      } else {
        assert.equal(item.bodySize, 0, where);
      }
      if (header.path === './xattrs/tagged.txt' && (archive.name === 'posix-xattrs.tar' || archive.name.startsWith('bsdtar-pax') || archive.name === 'bsdtar.tar')) {
        if (corpus.xattrs) {
          assert.deepEqual([...header.xattrs].map(([k, v]) => [k, v.toString()]), [[CORPUS_XATTR.name, CORPUS_XATTR.value]], where);
          xattrsSeen++;
        }
      } else {
        assert.equal(header.xattrs.size, 0, where);
      }
    }
  }
  // gnu-old, pax 0.0, 0.1, 1.0 and bsdtar's, two sparse files each.
  assert.equal(sparseSeen, 10);
  if (corpus.xattrs) assert.equal(xattrsSeen, 3);
});

test('paths, types and link targets agree with GNU tar listing each archive', async () => {
  const corpus = await buildCorpus(defaultCorpusDir());
  for (const archive of corpus.archives) {
    if (archive.compressed) continue;
    const { stdout } = await run('tar', ['-t', '-v', '--quoting-style=literal', '--numeric-owner', '-f', archive.path], { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 });
    const listed = stdout.toString('latin1').split('\n').filter((line) => line !== '');
    const { items } = await readAll(chunked(await fs.readFile(archive.path), 65536));
    const headers = items.flatMap((item) => (item.header ? [item.header] : []));
    assert.equal(headers.length, listed.length, archive.name);
    for (const [i, header] of headers.entries()) {
      const line = listed[i] ?? '';
      const where = `${archive.name}: ${header.path}`;
      // Latin-1 keeps each byte as one character, so non-UTF-8 names compare exactly.
      const name = header.pathBytes.toString('latin1');
      const typeLetter = { directory: 'd', symlink: 'l', hardlink: 'h', fifo: 'p', file: '-' }[header.type as string] ?? '?';
      assert.equal(line[0], typeLetter, `${where}: ${line}`);
      if (header.type === 'symlink') assert.ok(line.endsWith(` ${name} -> ${header.linkpathBytes.toString('latin1')}`), `${where}: ${line}`);
      else if (header.type === 'hardlink') assert.ok(line.endsWith(` ${name} link to ${header.linkpathBytes.toString('latin1')}`), `${where}: ${line}`);
      else assert.ok(line.endsWith(` ${name}`), `${where}: ${line}`);
      const size = header.sparse ? header.sparse.realSize : header.type === 'file' ? items.find((it) => it.header === header)?.bodySize : undefined;
      if (size !== undefined) assert.match(line, new RegExp(`^\\S+ \\d+/\\d+ +${size} `), `${where}: ${line}`);
    }
  }
});
