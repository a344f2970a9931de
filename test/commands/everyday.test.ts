/** ls, cat, extract, archives, stats and key passwd against a real store and a GNU tar archive. */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { lstat, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Stats } from '../../src/stats/stats';
import { dtar } from '../support/dtar';
import { type Fixture, makeFixture } from './harness';

let f: Fixture;
before(async () => {
  f = await makeFixture();
});
after(() => f.cleanup());

test('ls lists what tar tvf lists, with real sizes, and -l and --json agree with it', async () => {
  const names = execFileSync('tar', ['tf', f.tar]).toString();
  const r = await dtar(['ls', f.index], { env: f.env, inProcess: true });
  assert.equal(r.code, 0);
  assert.equal(r.stdout.toString(), names);
  const long = (await dtar(['ls', '-l', f.index, 'dir/sparse.bin', 'dir/link'], { env: f.env, inProcess: true })).stdout.toString();
  assert.match(long, /^-rw-r--r-- \S+\/\S+ +8388608 \d{4}-\d\d-\d\d \d\d:\d\d dir\/sparse\.bin$/m);
  assert.match(long, /^lrwxrwxrwx .* dir\/link -> hello\.txt$/m);
  const json = (await dtar(['ls', '--json', f.index, 'dir/hard'], { env: f.env, inProcess: true })).stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(json.length, 1);
  assert.equal(json[0]!.type, 'hardlink');
  assert.equal(json[0]!.linkpath, 'dir/hello.txt');
  const missing = await dtar(['ls', f.index, 'nope'], { env: f.env, inProcess: true });
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr, 'dtar: not in the archive: nope\n');
});

test("ls lists from the index alone, which the store's key authenticates", async () => {
  const r = await dtar(['ls', f.index, 'dir/hello.txt'], { env: { ...f.env, DTAR_STORE: undefined }, inProcess: true });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'dir/hello.txt\n');
  const none = await dtar(['ls', f.index], { env: { HOME: f.dir }, inProcess: true });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^dtar: no passphrase/);
  assert.equal(none.stdout.length, 0);
});

test('cat writes one file, sparse holes as zeros, and follows a hard link', async () => {
  const sparse = await dtar(['cat', f.index, './dir/sparse.bin'], { env: f.env, inProcess: true });
  assert.equal(sparse.code, 0);
  assert.ok(sparse.stdout.equals(await readFile(join(f.tree, 'dir/sparse.bin'))));
  assert.equal((await dtar(['cat', f.index, 'dir/hard'], { env: f.env, inProcess: true })).stdout.toString(), 'hello\n');
  const dir = await dtar(['cat', f.index, 'dir/sub'], { env: f.env, inProcess: true });
  assert.equal(dir.code, 2);
  assert.equal(dir.stderr, 'dtar: dir/sub: a directory, not a file\n');
  const link = await dtar(['cat', f.index, 'dir/link'], { env: f.env, inProcess: true });
  assert.equal(link.stderr, 'dtar: dir/link: a symbolic link to hello.txt\n');
});

test('extract writes every kind of entry back with its contents, mode and times', async () => {
  const out = join(f.dir, 'x-all');
  const r = await dtar(['extract', f.index, '-C', out, '--quiet'], { env: f.env, inProcess: true });
  assert.equal(r.code, 0, r.stderr);
  const d = (p: string): string => join(out, 'dir', p);
  assert.ok((await readFile(d('sub/random.bin'))).equals(await readFile(join(f.tree, 'dir/sub/random.bin'))));
  assert.equal(await readlink(d('link')), 'hello.txt');
  assert.equal((await stat(d('hard'))).ino, (await stat(d('hello.txt'))).ino);
  assert.ok((await lstat(d('fifo'))).isFIFO());
  assert.equal((await stat(d('exec.sh'))).mode & 0o777, 0o755);
  assert.equal((await stat(d('hello.txt'))).mtime.toISOString(), '2001-02-03T04:05:06.000Z');
  assert.equal((await lstat(d('link'))).mtime.toISOString(), '2001-02-03T04:05:06.000Z');
  assert.equal((await stat(join(out, 'dir'))).mtime.toISOString(), '2001-02-03T04:05:06.000Z');
  const sparse = await stat(d('sparse.bin'));
  assert.equal(sparse.size, 8 * 1024 * 1024);
  assert.ok(sparse.blocks * 512 < 1024 * 1024, `sparse file written with holes (${sparse.blocks} blocks)`);
  assert.ok((await readFile(d('sparse.bin'))).equals(await readFile(join(f.tree, 'dir/sparse.bin'))));
  // Same listing as GNU tar's own extraction.
  const gnu = join(f.dir, 'x-gnu');
  execFileSync('mkdir', [gnu]);
  execFileSync('tar', ['xf', f.tar, '-C', gnu]);
  const listing = (dir: string): string => execFileSync('find', ['.', '-printf', '%p %M %s %T@ %l\\n'], { cwd: dir }).toString().split('\n').sort().join('\n');
  assert.equal(listing(out).replace(/^\. .*$/m, ''), listing(gnu).replace(/^\. .*$/m, ''));
});

test('extract of a hard link alone brings its unselected target contents under its name', async () => {
  const out = join(f.dir, 'x-hard');
  const r = await dtar(['extract', f.index, 'dir/hard', '-C', out], { env: f.env, inProcess: true });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await readFile(join(out, 'dir/hard'), 'utf8'), 'hello\n');
  await assert.rejects(lstat(join(out, 'dir/hello.txt')));
});

test('archives lists the stored index and archives get brings it back byte for byte', async () => {
  const list = await dtar(['archives', '--json'], { env: f.env, inProcess: true });
  assert.equal(list.code, 0);
  const rows = JSON.parse(list.stdout.toString()) as { id: string; name: string; entries: number }[];
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.name, 'small');
  const back = join(f.dir, 'back.index.tar');
  assert.equal((await dtar(['archives', 'get', 'small', '-o', back], { env: f.env, inProcess: true })).code, 0);
  assert.ok((await readFile(back)).equals(await readFile(f.index)));
  const none = await dtar(['archives', 'get', 'other', '-o', back], { env: f.env, inProcess: true });
  assert.equal(none.code, 2);
  assert.equal(none.stderr, "dtar: no archive named other and no archive id starting with it in the store; see 'dtar archives'\n");
});

test('stats reports sizes, ratios and the cost per storage class, with prices from a file', async () => {
  const s = JSON.parse((await dtar(['stats', '--json'], { env: f.env, inProcess: true })).stdout.toString()) as Stats;
  assert.equal(s.logicalBytes, (await stat(f.tar)).size);
  assert.ok(s.uniqueBytes > 300_000 && s.uniqueBytes < s.logicalBytes);
  assert.ok(s.storedBytes > 0);
  assert.equal(s.bricks, 1);
  assert.ok(Math.abs(s.monthlyCost.STANDARD - (s.storedBytes / 1024 ** 3) * 0.023) < 1e-12);
  const prices = join(f.dir, 'prices.json');
  await writeFile(prices, JSON.stringify({ DEEP_ARCHIVE: 1 }));
  const p = JSON.parse((await dtar(['stats', f.index, '--json', '--prices', prices], { env: f.env, inProcess: true })).stdout.toString()) as { storedBytes: number; monthlyCost: Record<string, number> };
  assert.equal(p.monthlyCost.DEEP_ARCHIVE, p.storedBytes / 1024 ** 3);
  await writeFile(prices, JSON.stringify({ CHEAP: 1 }));
  const bad = await dtar(['stats', '--prices', prices], { env: f.env, inProcess: true });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^dtar: .*prices\.json: unknown storage class CHEAP; one of STANDARD, /);
});

test('key passwd: the old passphrase stops working, the new one restores the data', async () => {
  const r = await dtar(['key', 'passwd'], { env: { ...f.env, DTAR_NEW_PASSWORD: 'battery staple' }, inProcess: true });
  assert.equal(r.code, 0, r.stderr);
  const old = await dtar(['cat', f.index, 'dir/hello.txt'], { env: f.env, inProcess: true });
  assert.equal(old.code, 3);
  assert.equal(old.stderr, 'dtar: wrong passphrase: no key in this store opens with it\n');
  const env = { ...f.env, DTAR_PASSWORD: 'battery staple' };
  const restored = await dtar(['restore', f.index], { env, inProcess: true });
  assert.equal(restored.code, 0);
  assert.ok(restored.stdout.equals(await readFile(f.tar)));
  const again = await dtar(['key', 'passwd'], { env: { ...env, DTAR_NEW_PASSWORD: 'correct horse' }, inProcess: true });
  assert.equal(again.code, 0);
});

test('errors are one line without a stack trace; --debug adds the trace', async () => {
  const r = await dtar(['cat', join(f.dir, 'missing.index.tar'), 'x'], { env: f.env, inProcess: true });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `dtar: cannot read index ${join(f.dir, 'missing.index.tar')}: no such file\n`);
  const d = await dtar(['--debug', 'cat', join(f.dir, 'missing.index.tar'), 'x'], { env: f.env, inProcess: true });
  assert.match(d.stderr, /\n\s+at /);
});

test('files that cannot be read or written are named in a plain one-line error', async () => {
  const missing = join(f.dir, 'missing.tar');
  const noDir = join(f.dir, 'no-such-dir');
  const cases: [string[], string][] = [
    [['ingest', missing, '-o', join(f.dir, 'x.idx')], `dtar: cannot open ${missing}: no such file or directory\n`],
    [['ingest', f.tree, '-o', join(f.dir, 'x.idx')], `dtar: ${f.tree} is a directory, not a tar file (to back it up: tar c ${f.tree} | dtar ingest)\n`],
    [['ingest', f.tar, '-o', join(noDir, 'x.idx')], `dtar: cannot write ${join(noDir, 'x.idx')}: no such file or directory\n`],
    [['restore', f.index, '-o', join(noDir, 'x.tar')], `dtar: cannot write ${join(noDir, 'x.tar')}: no such file or directory\n`],
  ];
  for (const [argv, stderr] of cases) {
    const r = await dtar(argv, { env: f.env, inProcess: true });
    assert.equal(r.stderr, stderr, argv.join(' '));
    assert.equal(r.code, 2, argv.join(' '));
  }
  assert.equal(existsSync(join(f.dir, 'x.idx')), false, 'no index was written');
  assert.equal(existsSync(noDir), false, 'no directory was made for an output');
});

test('an extraction directory that cannot be made is an error, not a hang', { skip: !existsSync('/proc/1') }, async () => {
  // mkdir answers ENOENT under /proc although the parent exists: Node's recursive mkdir loops on that.
  const r = await dtar(['extract', f.index, '-C', '/proc/1/dtar-test', '--quiet'], { env: f.env, inProcess: true });
  assert.equal(r.stderr, 'dtar: cannot mkdir /proc/1/dtar-test: no such file or directory\n');
  assert.equal(r.code, 2);
});

test('-o to a FIFO or device writes into it, and through a symbolic link to its file: neither is replaced', async () => {
  const original = await readFile(f.tar);
  const fifo = join(f.dir, 'out.fifo');
  execFileSync('mkfifo', [fifo]);
  const readFifo = async (): Promise<Buffer> => {
    const parts: Buffer[] = [];
    for await (const b of createReadStream(fifo)) parts.push(b as Buffer);
    return Buffer.concat(parts);
  };
  const [restored, r] = await Promise.all([readFifo(), dtar(['restore', f.index, '-o', fifo, '--quiet'], { env: f.env, inProcess: true })]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(restored.equals(original), 'the tar came through the FIFO');
  assert.ok((await lstat(fifo)).isFIFO(), 'the FIFO is still a FIFO');
  // ingest reads its index back for the stored copy: through a FIFO it must still be whole.
  const [index, i] = await Promise.all([readFifo(), dtar(['ingest', f.tar, '-o', fifo, '--quiet'], { env: f.env, inProcess: true })]);
  assert.equal(i.code, 0, i.stderr);
  const copy = join(f.dir, 'via-fifo.idx');
  await writeFile(copy, index);
  assert.ok((await dtar(['restore', copy], { env: f.env, inProcess: true })).stdout.equals(original), 'the index from the FIFO restores');
  assert.ok((await lstat(fifo)).isFIFO());
  const dev = await dtar(['restore', f.index, '-o', '/dev/null', '--quiet'], { env: f.env, inProcess: true });
  assert.equal(dev.code, 0, dev.stderr);
  assert.ok((await lstat('/dev/null')).isCharacterDevice(), '/dev/null is still a device');

  const link = join(f.dir, 'link.tar');
  await symlink('target.tar', link);
  assert.equal((await dtar(['restore', f.index, '-o', link, '--quiet'], { env: f.env, inProcess: true })).code, 0);
  assert.ok((await lstat(link)).isSymbolicLink(), 'the link stays a link');
  assert.ok((await readFile(join(f.dir, 'target.tar'))).equals(original), 'its target has the tar');
  const dir = await dtar(['restore', f.index, '-o', f.dir], { env: f.env, inProcess: true });
  assert.equal(dir.stderr, `dtar: ${f.dir} is a directory: give a file name\n`);
  assert.equal(dir.code, 2);
});

test('an empty input is refused, as GNU tar refuses it: a backup of nothing is not a success', async () => {
  const out = join(f.dir, 'empty.idx');
  const empty = join(f.dir, 'empty.tar');
  await writeFile(empty, '');
  for (const argv of [['ingest', '-o', out], ['ingest', empty, '-o', out]]) {
    const r = await dtar(argv, { env: f.env, inProcess: true }); // standard input is empty
    assert.equal(r.stderr, 'dtar: the input is empty: no tar stream came in, and nothing was backed up\n', argv.join(' '));
    assert.equal(r.code, 2);
    assert.equal(existsSync(out), false, 'no index');
  }
});
