/**
 * Hostile input to `dtar ingest`: real archives from the shared corpus (GNU tar and bsdtar,
 * every format, gzip), mutated (see mutate.ts), fed to the real command line (in-process,
 * so that a case costs a key unlock and not a node start). Each case either is accepted, and
 * then `dtar restore` gives back exactly the mutated input (the reader never changes a byte;
 * a compressed input is compared as gzip or zstd themselves decompress it), or is refused with one line "dtar: ..." and exit 2. Never exit 5 (internal error), another
 * code, a second line or a stack trace, nor a hang (a time limit per case).
 * DTAR_FUZZ_CASES sets the number of cases (default 40, under a minute; `npm run
 * test:fuzz-long` runs 20000). A failing case prints its seed: rerun with DTAR_SEED=<seed>
 * DTAR_FUZZ_CASES=1 to replay exactly that case.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildCorpus, defaultCorpusDir } from '../fixtures/corpus';
import { Rng, seedFromEnv } from '../support/random';
import { mutate } from './mutate';
import { dtar, testStore, type TestStore } from '../support/dtar';

const CASES = Number(process.env.DTAR_FUZZ_CASES ?? 40);
const CASE_MS = 60_000;

let tmp: TestStore;
let env: NodeJS.ProcessEnv;
let inputs: { name: string; bytes: Buffer; compressed?: 'gzip' | 'zstd' }[];

before(async () => {
  const corpus = await buildCorpus(defaultCorpusDir());
  // The small archives: every format, without the megabytes of file data of the big ones.
  inputs = [];
  for (const a of corpus.archives) {
    const bytes = await readFile(a.path);
    if (bytes.length <= 256 * 1024) inputs.push({ name: a.name, bytes, ...(a.compressed && { compressed: a.compressed }) });
  }
  assert.ok(inputs.length >= 8, 'several formats to mutate');
  tmp = await testStore('fuzz');
  env = tmp.env;
  assert.equal((await dtar(['init', '--quiet'], { env, inProcess: true })).code, 0);
});
after(() => tmp.cleanup());

/** Runs gzip or zstd (the reference tools, independent of dtar's decoders) on `input`. */
function tool(name: 'gzip' | 'zstd', args: string[], input: Buffer): { status: number | null; stdout: Buffer } {
  return spawnSync(name, args, { input, maxBuffer: 1 << 30 });
}

/**
 * The tar that dtar should read from `input`: the input itself, or for a gzip or zstd stream
 * what its tool decompresses it to; null when the tool refuses the stream.
 */
function tarOf(input: Buffer): Buffer | null {
  const name = input[0] === 0x1f && input[1] === 0x8b ? 'gzip' : input.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])) ? 'zstd' : null;
  if (name === null) return input;
  const r = tool(name, ['-dc'], input);
  // gzip exits 2 on a warning only (trailing garbage ignored): its output stands.
  return r.status === 0 || (name === 'gzip' && r.status === 2) ? r.stdout : null;
}

/**
 * A case: a plain tar mutated; a compressed one damaged as it is (a quarter of the time:
 * that is mostly refused), else decompressed, its tar mutated and compressed again, so that
 * mutated tars reach dtar's reader through its decoders too.
 */
function makeCase(rng: Rng, src: { bytes: Buffer; compressed?: 'gzip' | 'zstd' }): Buffer {
  if (src.compressed === undefined || rng.int(4) === 0) return mutate(rng, src.bytes);
  const tar = tool(src.compressed, ['-dc'], src.bytes);
  assert.equal(tar.status, 0, `${src.compressed} -dc of a corpus archive`);
  const packed = tool(src.compressed, ['-c'], mutate(rng, tar.stdout));
  assert.equal(packed.status, 0, `${src.compressed} -c`);
  return packed.stdout;
}

function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (a hang)`)), ms)))]).finally(() => clearTimeout(timer));
}

test(`ingest of ${CASES} mutated corpus archives: accepted exactly or refused in one line`, async (t) => {
  const base = seedFromEnv();
  const tally = { accepted: 0, refused: 0, decompressed: 0 };
  for (let i = 0; i < CASES; i++) {
    const seed = (base + i) >>> 0;
    const rng = new Rng(seed);
    const src = inputs[i % inputs.length]!; // every input, the compressed ones too, gets its share
    const input = makeCase(rng, src);
    const what = `case ${i}: ${src.name} mutated with seed ${seed} (replay: DTAR_SEED=${seed} DTAR_FUZZ_CASES=1)`;
    const file = join(tmp.dir, 'case.tar');
    const index = join(tmp.dir, 'case.idx');
    await writeFile(file, input);
    const r = await within(CASE_MS, dtar(['ingest', file, '-o', index, '--quiet'], { env, inProcess: true }), what);
    if (r.code === 0) {
      tally.accepted++;
      const back = await within(CASE_MS, dtar(['restore', index], { env, inProcess: true }), `${what}, restore`);
      assert.equal(back.code, 0, `${what}: accepted but does not restore: ${back.stderr}`);
      const tar = tarOf(input);
      assert.ok(tar !== null, `${what}: accepted a compressed stream its own tool refuses`);
      assert.ok(back.stdout.equals(tar), `${what}: restore gives back the input exactly${tar === input ? '' : ' (decompressed)'}`);
      if (tar !== input) tally.decompressed++;
    } else {
      tally.refused++;
      assert.equal(r.code, 2, `${what}: refused with exit 2, got ${r.code}: ${r.stderr}`);
      assert.match(r.stderr, /^dtar: [^\n]+\n$/, `${what}: one line`);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, what);
    }
  }
  t.diagnostic(JSON.stringify(tally));
  // Both outcomes are exercised; how many of each depends on the seed.
  if (CASES >= 20) assert.ok(tally.accepted > 0 && tally.refused > 0, JSON.stringify(tally));
});
