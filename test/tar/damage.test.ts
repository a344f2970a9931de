/**
 * Damaged input: truncated archives, corrupted headers, random mutations and things that are not
 * tar at all. Each must either read cleanly (and still reassemble) or fail with BadTarError, never
 * hang or throw anything else.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { test } from 'node:test';
import { BadTarError } from '../../src/errors';
import { recomputeChecksum } from '../../src/tar/header';
import { buildCorpus, defaultCorpusDir } from '../fixtures/corpus';
import { chunked, readAll } from './collect';
import type { ReadResult } from './collect';
import { gnuList } from './gnu';

async function archive(name: string): Promise<Buffer> {
  const corpus = await buildCorpus(defaultCorpusDir());
  const found = corpus.archives.find((a) => a.name === name);
  assert.ok(found, name);
  return fs.readFile(found.path);
}

/** Reads `input`; returns the result, or the BadTarError it failed with (any other error fails the test). */
async function tryRead(input: Buffer, chunk = 4096): Promise<ReadResult | BadTarError> {
  try {
    const result = await readAll(chunked(input, chunk));
    assert.ok(result.reassembled.equals(input), 'an accepted input reassembles exactly');
    return result;
  } catch (error) {
    if (error instanceof BadTarError) return error;
    throw error;
  }
}

/** Where the end-of-archive item starts. */
async function endOf(input: Buffer): Promise<number> {
  const result = await tryRead(input);
  assert.ok(!(result instanceof BadTarError));
  return result.items.at(-1)?.offset ?? 0;
}

/** `work` over `inputs`, `width` at a time, results in order. */
async function inParallel<T, R>(inputs: T[], width: number, work: (input: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < inputs.length; i = next++) results[i] = await work(inputs[i]!);
  };
  await Promise.all(Array.from({ length: width }, lane));
  return results;
}

const TRUNCATION_ARCHIVES = ['ustar.tar', 'v7.tar', 'gnu-sparse.tar', 'pax-sparse-0.1.tar', 'pax-sparse-1.0.tar', 'posix-xattrs.tar', 'bsdtar-gnutar.tar', 'bsdtar-pax.tar'];

test('a truncated archive is refused exactly when GNU tar refuses it', { timeout: 300_000 }, async () => {
  for (const name of TRUNCATION_ARCHIVES) {
    const input = await archive(name);
    const end = await endOf(input);
    // Cut at, just after and just before the end of every block up to past the end marker; not
    // at 0: empty input is an empty archive to dtar (see below), "not a tar archive" to GNU tar.
    const cuts: number[] = [];
    for (let block = 0; block * 512 <= end + 1024; block++) {
      for (const cut of [block * 512, block * 512 + 1, block * 512 + 511]) if (cut > 0 && cut <= input.length) cuts.push(cut);
    }
    const gnu = await inParallel(cuts, 4, (cut) => gnuList(input.subarray(0, cut)));
    for (const [i, cut] of cuts.entries()) {
      const result = await tryRead(input.subarray(0, cut));
      const where = `${name} cut at ${cut}`;
      if (gnu[i]!.code === 0) {
        // Between entries, where a header is due (even after extension headers), or past the end marker.
        assert.ok(!(result instanceof BadTarError), `${where}: GNU tar lists it, dtar says ${String(result instanceof BadTarError && result.message)}`);
      } else {
        assert.ok(result instanceof BadTarError, `${where}: GNU tar refuses it (${gnu[i]!.stderr.trim()}), dtar should too`);
        assert.match(result.message, /not a tar archive|truncated archive/, where);
      }
    }
  }
});

test('a corrupted header block fails with its offset and a checksum message', async () => {
  for (const name of ['ustar.tar', 'posix.tar', 'gnu-sparse.tar', 'bsdtar-gnutar.tar']) {
    const input = await archive(name);
    const result = await tryRead(input);
    assert.ok(!(result instanceof BadTarError));
    for (const item of result.items) {
      if (item.kind !== 'entry') continue;
      const damaged = Buffer.from(input);
      damaged[item.offset + 20] = (damaged[item.offset + 20] ?? 0) ^ 0x41;
      const failure = await tryRead(damaged);
      assert.ok(failure instanceof BadTarError, `${name} at ${item.offset}`);
      assert.equal(failure.offset, item.offset);
      assert.match(failure.message, item.offset === 0 ? /^not a tar archive/ : /bad header checksum/);
    }
  }
});

/** xorshift32, so failures reproduce. */
function prng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

test('random mutations never hang and fail only with BadTarError', { timeout: 120_000 }, async () => {
  const cases = Number(process.env.DTAR_FUZZ_CASES ?? 400);
  const random = prng(20240601);
  const inputs = await Promise.all(['ustar.tar', 'gnu-sparse.tar', 'pax-sparse-0.0.tar', 'pax-sparse-1.0.tar', 'bsdtar-pax.tar', 'bsdtar-gnutar.tar'].map(archive));
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < cases; i++) {
    const source = inputs[random() % inputs.length] ?? Buffer.alloc(0);
    const damaged = Buffer.from(source.subarray(0, 16 * 1024));
    // Mostly hit header blocks with their checksum fixed up, so the damage reaches the parsers.
    const block = (random() % (damaged.length / 512)) * 512;
    for (let n = 1 + (random() % 3); n > 0; n--) damaged[block + (random() % 512)] = random() & 0xff;
    if (random() % 4 !== 0 && damaged.subarray(block, block + 512).some((b) => b !== 0)) {
      recomputeChecksum(damaged.subarray(block, block + 512));
    }
    const result = await tryRead(damaged, 1 + (random() % 2048));
    if (result instanceof BadTarError) rejected++;
    else accepted++;
  }
  assert.ok(accepted > 0 && rejected > 0, `accepted ${accepted}, rejected ${rejected}`);
});

test('input that is not tar fails on the first block', async () => {
  const random = await tryRead(randomBytes(8192));
  assert.ok(random instanceof BadTarError);
  assert.equal(random.offset, 0);
  assert.match(random.message, /^not a tar archive \(bad header checksum\)/);

  const corpus = await buildCorpus(defaultCorpusDir());
  for (const compressed of corpus.archives.filter((a) => a.compressed)) {
    const result = await tryRead(await fs.readFile(compressed.path));
    assert.ok(result instanceof BadTarError, compressed.name);
    assert.match(result.message, new RegExp(`^not a tar archive \\(it looks ${compressed.compressed}-compressed`), compressed.name);
  }

  const short = await tryRead(Buffer.from('hello'));
  assert.ok(short instanceof BadTarError);
  assert.match(short.message, /^not a tar archive \(only 5 bytes\)/);
});

test('empty input is an empty archive without an end marker', async () => {
  const result = await tryRead(Buffer.alloc(0));
  assert.ok(!(result instanceof BadTarError));
  assert.deepEqual(result.items.map((i) => i.kind), ['end']);
});
