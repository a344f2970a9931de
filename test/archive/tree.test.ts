/**
 * The archive view's namespace rules and its size, from synthetic index entries: path
 * normalisation (its fast path checked against the plain rule), implied directories, later duplicates winning, hard links as one inode
 * with the right link count, and 100,000 entries loading fast into under 200 bytes each.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ArchiveBuilder, normalizePath } from '../../src/archive/build';
import { ArchiveTree, type InodeStat } from '../../src/archive/tree';
import { tableBytes } from '../../src/archive/tables';
import type { IndexEntry } from '../../src/index/reader';
import type { BodyRecord } from '../../src/index/record';
import type { EntryType, TarHeader } from '../../src/tar/types';

const TYPEFLAG: Partial<Record<EntryType, string>> = { file: '0', hardlink: '1', symlink: '2', chardev: '3', blockdev: '4', directory: '5', fifo: '6' };

function entry(path: string, type: EntryType, extra: Partial<TarHeader> = {}, record: BodyRecord | null = null): IndexEntry {
  const header: TarHeader = {
    pathBytes: Buffer.from(path),
    path,
    linkpathBytes: Buffer.from(extra.linkpath ?? ''),
    linkpath: '',
    typeflag: TYPEFLAG[type] ?? '0',
    type,
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    uname: '',
    gname: '',
    mtime: 1_700_000_000,
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
    pax: new Map(),
    localPax: new Map(),
    ...extra,
  };
  return { kind: 'entry', seq: 0, header, original: () => Buffer.alloc(0), record, padding: Buffer.alloc(0) };
}

function fileRecord(size: number): BodyRecord {
  const chunk = { id: randomBytes(32), plainLength: size, brick: Buffer.alloc(32, 7), offset: 0, storedLength: size + 40 };
  return { header: { mode: 2, raw: Buffer.alloc(0) }, body: { storedSize: size, sha256: Buffer.alloc(32), chunks: [chunk] }, padding: null, sparse: null };
}

const DEFAULTS = { uid: 0, gid: 0, mode: 0o755, mtimeMs: 0 };

test('paths are normalised and directories only implied by a path exist', () => {
  const b = new ArchiveBuilder(DEFAULTS);
  b.add(entry('./a/b/c.txt', 'file', {}, fileRecord(5)));
  b.add(entry('/x//y/', 'directory', { mode: 0o700 }));
  b.add(entry('../evil', 'file'));
  const tree = new ArchiveTree(b.finish());
  assert.equal(b.skipped, 1);
  assert.deepEqual([...tree.walk()].map((e) => e.path), ['a', 'a/b', 'a/b/c.txt', 'x', 'x/y']);
  const c = tree.resolve('/a/b/c.txt')!;
  assert.equal(tree.stat(c).size, 5);
  assert.equal(tree.stat(tree.resolve('a')!).mode, 0o040755);
  assert.equal(tree.stat(tree.resolve('x/y')!).mode, 0o040700);
  assert.equal(tree.pathOf(c), 'a/b/c.txt');
  assert.equal(tree.resolve('a/nope'), null);
  assert.equal(tree.stat(ArchiveTree.ROOT).nlink, 4); // ".", "..", a, x
});

test('a later entry for a path wins; a directory listed again keeps its children', () => {
  const b = new ArchiveBuilder(DEFAULTS);
  b.add(entry('d/f', 'file', {}, fileRecord(1)));
  b.add(entry('d', 'directory', { mode: 0o750 }));
  b.add(entry('d/f', 'symlink', { linkpath: 'target', linkpathBytes: Buffer.from('target') }));
  const tree = new ArchiveTree(b.finish());
  const f = tree.resolve('d/f')!;
  assert.equal(tree.kind(f), 'symlink');
  assert.equal(tree.readlink(f)!.toString(), 'target');
  assert.equal(tree.stat(tree.resolve('d')!).mode, 0o040750);
  assert.equal(tree.readdir(tree.resolve('d')!).length, 1);
});

test('hard links share one inode with the right link count, also after a replaced name', () => {
  const b = new ArchiveBuilder(DEFAULTS);
  b.add(entry('a', 'file', { xattrs: new Map([['user.k', Buffer.from('v')]]) }, fileRecord(3)));
  b.add(entry('sub/b', 'hardlink', { linkpath: './a' }));
  b.add(entry('c', 'hardlink', { linkpath: 'a' }));
  b.add(entry('c', 'file', {}, fileRecord(9))); // replaces one name: the link count drops
  b.add(entry('dangling', 'hardlink', { linkpath: 'missing' }));
  const tree = new ArchiveTree(b.finish());
  const a = tree.resolve('a')!;
  assert.equal(tree.resolve('sub/b'), a);
  assert.notEqual(tree.resolve('c'), a);
  assert.equal(tree.stat(a).nlink, 2);
  assert.equal(tree.xattrs(tree.resolve('sub/b')!).get('user.k')!.toString(), 'v');
  assert.equal(tree.resolve('dangling'), null);
  assert.equal(b.skipped, 1);
});

test('devices keep their numbers (Linux encoding, large minors too); nothing else has one', () => {
  const b = new ArchiveBuilder(DEFAULTS);
  b.add(entry('null', 'chardev', { devmajor: 1, devminor: 3 }));
  b.add(entry('disk', 'blockdev', { devmajor: 259, devminor: 1_000_000 }));
  b.add(entry('fifo', 'fifo'));
  b.add(entry('file', 'file', {}, fileRecord(5)));
  const tree = new ArchiveTree(b.finish());
  const stat = (p: string): InodeStat => tree.stat(tree.resolve(p)!);
  assert.equal(stat('null').kind, 'chardev');
  assert.equal(stat('null').rdev, (1 << 8) | 3);
  assert.equal(stat('disk').kind, 'blockdev');
  // glibc's makedev: minor's low 8 bits, major's 12 bits, then minor's upper bits.
  assert.equal(stat('disk').rdev, ((1_000_000 & 0xff) | (259 << 8) | ((1_000_000 & ~0xff) << 12)) >>> 0);
  assert.equal(stat('fifo').rdev, 0);
  assert.equal(stat('file').rdev, 0);
  assert.equal(stat('file').storedSize, 5);
});

test('listings are sorted by name bytes and lookups find every name', () => {
  const b = new ArchiveBuilder(DEFAULTS);
  const names = ['zeta', 'Alpha', 'beta', 'é', 'a b', '10', '9'];
  for (const n of names) b.add(entry(`dir/${n}`, 'file', {}, fileRecord(1)));
  const tree = new ArchiveTree(b.finish());
  const dir = tree.resolve('dir')!;
  const listed = tree.readdir(dir).map((e) => e.name);
  assert.deepEqual(listed, [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
  for (const n of names) assert.notEqual(tree.lookup(dir, n), null, n);
});

test('walkAfter continues a depth-first walk in readdir order from any entry, across directories', () => {
  const b = new ArchiveBuilder(DEFAULTS);
  for (const p of ['a/1', 'a/b/2', 'a/b/c/3', 'a/b/4', 'a/5', 'd/6', 'e', 'f/g/7']) b.add(entry(p, 'file', {}, fileRecord(1)));
  b.add(entry('a/b/empty', 'directory'));
  b.add(entry('link', 'symlink', { linkpath: 'e' }));
  const tree = new ArchiveTree(b.finish());
  const walk = [...tree.walk()].map((e) => e.ino);
  for (let i = 0; i < walk.length; i++) {
    assert.deepEqual([...tree.walkAfter(walk[i]!)], walk.slice(i + 1), [...tree.walk()][i]!.path);
  }
});

/** The rule normalizePath implements, written the plain way. */
function normalizedPlainly(path: string): string | null {
  const parts: string[] = [];
  for (const p of path.split('/')) {
    if (p === '..') return null;
    if (p !== '' && p !== '.') parts.push(p);
  }
  return parts.join('/');
}

test('normalizePath agrees with the plain rule on every path of up to 7 characters from "a./"', () => {
  const alphabet = ['a', '.', '/'];
  let checked = 0;
  const visit = (path: string): void => {
    assert.equal(normalizePath(Buffer.from(path, 'latin1'))?.toString('latin1') ?? null, normalizedPlainly(path), JSON.stringify(path));
    checked++;
    if (path.length < 7) for (const c of alphabet) visit(path + c);
  };
  visit('');
  assert.equal(checked, (3 ** 8 - 1) / 2);
});

for (const sized of [false, true]) {
  test(`100,000 entries load and take under 200 bytes each (${sized ? 'tables sized from the trailer count' : 'tables grown'})`, () => {
    const entries: IndexEntry[] = [];
    for (let d = 0; d < 100; d++) for (let i = 0; i < 1000; i++) entries.push(entry(`./src/d${d}/file-number-${i}.txt`, 'file', {}, fileRecord(100 + i)));
    const b = new ArchiveBuilder(DEFAULTS, sized ? entries.length : 0);
    for (const e of entries) b.add(e);
    const tables = b.finish();
    const bytes = tableBytes(tables);
    const tree = new ArchiveTree(tables);
    assert.equal(tree.stat(tree.resolve('src/d99/file-number-999.txt')!).size, 1099);
    assert.ok(bytes / entries.length < 200, `${(bytes / entries.length).toFixed(0)} bytes per entry`);
  });
}
