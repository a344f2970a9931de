/**
 * The core promise: for every archive GNU tar and bsdtar write, `dtar restore` gives back the
 * input byte for byte, and the index lists like the original. Real archives from the shared
 * corpus, the real CLI, a real local store.
 */
import { execFile } from 'node:child_process';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import { buildCorpus, Corpus, defaultCorpusDir } from '../fixtures/corpus';
import { dtar, ok, testStore, TestStore } from '../support/dtar';

const run = promisify(execFile);

/** `tar tvf` lines without the size column, which the index changes for files with a body. */
async function listing(path: string): Promise<{ lines: string[]; stderr: string }> {
  const { stdout, stderr } = await run('tar', ['--numeric-owner', '-tvf', path], { maxBuffer: 64 * 1024 * 1024, encoding: 'latin1' });
  const lines = stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/^(\S+) +(\S+) +\d+(?:, *\d+)? +(\S+ \S+) /, '$1 $2 $3 '));
  return { lines, stderr };
}

describe('ingest and restore, byte for byte', () => {
  let corpus: Corpus;
  let s: TestStore;

  before(async () => {
    corpus = await buildCorpus(defaultCorpusDir());
    s = await testStore();
    ok(await dtar(['init'], { env: s.env }), 'init');
  });
  after(() => s.cleanup());

  test('every corpus archive restores identically and its index lists like the original', async (t) => {
    assert.ok(corpus.archives.length >= 10, 'the corpus has archives of every format');
    for (const a of corpus.archives) {
      await t.test(a.name, async () => {
        const index = join(s.dir, `${a.name}.index.tar`);
        ok(await dtar(['ingest', a.path, '-o', index, '--quiet'], { env: s.env }), 'ingest');
        const back = ok(await dtar(['restore', index], { env: s.env }), 'restore').stdout;
        const original = await readFile(a.path);
        const expected = a.compressed ? (await run(a.compressed === 'gzip' ? 'gzip' : 'zstd', ['-dc', a.path], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 })).stdout : original;
        assert.equal(back.length, expected.length, 'restored size');
        assert.ok(back.equals(expected), 'restored bytes are identical');
        if (!a.compressed) {
          const [orig, idx] = await Promise.all([listing(a.path), listing(index)]);
          assert.deepEqual(idx.lines, orig.lines, 'tar tvf lists the same entries, modes, owners, times and links');
          assert.equal(idx.stderr, orig.stderr, 'tar has no more to say about the index than about the original');
        }
      });
    }
  });

  test('a second ingest of the same data stores nothing new', async () => {
    const a = corpus.archives.find((x) => x.name.includes('posix') && !x.compressed)!;
    const first = ok(await dtar(['ingest', a.path, '-o', join(s.dir, 'again1.idx'), '--json'], { env: s.env }), 'ingest');
    const summary = JSON.parse(first.stderr) as { newChunks: number; chunks: number; bricks: number };
    assert.equal(summary.newChunks, 0, 'every chunk was already in the store');
    assert.equal(summary.bricks, 0, 'no brick written');
    assert.ok(summary.chunks > 0);
  });

  test('one large file, cut by one worker and sealed by both, restores identically', async () => {
    // A body keeps to the worker that cuts it; with a single 48 MiB body of new data that
    // worker falls behind and the other seals part of its batches (the "export" path).
    const { randomBytes } = await import('node:crypto');
    const { mkdir, writeFile } = await import('node:fs/promises');
    const src = join(s.dir, 'big-src');
    await mkdir(src);
    await writeFile(join(src, 'big.bin'), randomBytes(48 * 1024 * 1024));
    await writeFile(join(src, 'small.txt'), 'after the big one\n');
    const tar = join(s.dir, 'big.tar');
    await run('tar', ['-C', src, '-cf', tar, 'big.bin', 'small.txt']);
    const index = join(s.dir, 'big.idx');
    ok(await dtar(['ingest', tar, '-o', index, '--quiet'], { env: s.env }), 'ingest');
    const back = ok(await dtar(['restore', index], { env: s.env }), 'restore').stdout;
    assert.ok(back.equals(await readFile(tar)), 'restored bytes are identical');
  });

  test('standard input and standard output work as in a pipe', async () => {
    const a = corpus.archives.find((x) => !x.compressed)!;
    const idx = ok(await dtar(['ingest', '--quiet'], { env: s.env, stdin: a.path }), 'ingest').stdout;
    assert.ok(idx.length > 1024 && idx.length % 512 === 0, 'an index tar on stdout');
    const path = join(s.dir, 'piped.idx');
    await (await import('node:fs/promises')).writeFile(path, idx);
    const back = ok(await dtar(['restore', path], { env: s.env }), 'restore').stdout;
    assert.ok(back.equals(await readFile(a.path)));
  });

  test('no temporary files are left in the store or beside the index', async () => {
    const leftovers: string[] = [];
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(join(d, e.name));
        else if (e.name.includes('.tmp')) leftovers.push(join(d, e.name));
      }
    };
    await walk(s.dir);
    assert.deepEqual(leftovers, []);
    assert.equal((await stat(join(s.store, 'config'))).mode & 0o777, 0o600, 'store files are private');
  });
});
