/**
 * The reader's central promise on every corpus archive: the items put back together are the
 * input byte for byte, and the items do not depend on how the input is chunked.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { buildCorpus, defaultCorpusDir } from '../fixtures/corpus';
import type { CorpusArchive } from '../fixtures/corpus';
import { chunked, chunkedCycle, readAll } from './collect';

const run = promisify(execFile);

async function tarBytes(archive: CorpusArchive): Promise<Buffer> {
  const stored = await fs.readFile(archive.path);
  if (archive.compressed === 'gzip') return gunzipSync(stored);
  if (archive.compressed === 'zstd') {
    const { stdout } = await run('zstd', ['-d', '-c', '-q', archive.path], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  }
  return stored;
}

test('every corpus archive reassembles to its input, byte for byte', async () => {
  const corpus = await buildCorpus(defaultCorpusDir());
  assert.ok(corpus.archives.length >= 15);
  for (const archive of corpus.archives) {
    const input = await tarBytes(archive);
    const { items, reassembled } = await readAll(chunked(input, 64 * 1024));
    assert.ok(reassembled.equals(input), `${archive.name}: reassembled bytes differ from the input`);
    assert.equal(items.at(-1)?.kind, 'end', archive.name);
    assert.ok(items.filter((i) => i.kind === 'entry').length >= 2, archive.name);
  }
});

test('items are the same whatever the input chunk size', async () => {
  const corpus = await buildCorpus(defaultCorpusDir());
  for (const archive of corpus.archives) {
    if (archive.compressed) continue;
    const input = await tarBytes(archive);
    const reference = await readAll(chunked(input, input.length || 1));
    // Tiny chunks cost a few awaits per chunk, which the test runner makes slow: the multi-MiB
    // archives get a cycle of sizes instead, which still splits blocks at varying points.
    const small = input.length <= 256 * 1024;
    const sizes: (number | number[])[] = small ? [1, 7, 4096, 1024 * 1024] : [[1, 7, 509, 4096, 65521], 4096, 1024 * 1024];
    for (const size of sizes) {
      const result = await readAll(typeof size === 'number' ? chunked(input, size) : chunkedCycle(input, size));
      assert.deepEqual(result.items, reference.items, `${archive.name} in ${String(size)}-byte chunks`);
      assert.ok(result.reassembled.equals(input), `${archive.name} in ${String(size)}-byte chunks`);
    }
  }
});

test('the trailing garbage and the duplicate path survive as they are', async () => {
  const corpus = await buildCorpus(defaultCorpusDir());
  const byName = new Map(corpus.archives.map((a) => [a.name, a]));
  const garbage = await fs.readFile(byName.get('trailing-garbage.tar')?.path ?? '');
  const ustar = await fs.readFile(byName.get('ustar.tar')?.path ?? '');
  const { items } = await readAll(chunked(garbage, 4096));
  const end = items.at(-1);
  assert.equal(end?.kind, 'end');
  // The end starts at the first zero block and runs to EOF, garbage included.
  assert.ok((end?.offset ?? 0) < ustar.length && garbage.length > ustar.length);

  const dup = await readAll(chunked(await fs.readFile(byName.get('duplicates.tar')?.path ?? ''), 4096), { keepBodies: true });
  const same = dup.items.flatMap((item, i) => (item.header?.path === 'same-name.txt' ? [dup.bodies.get(i)?.toString()] : []));
  assert.deepEqual(same, ['first version\n', 'second, longer version\n']);
});
