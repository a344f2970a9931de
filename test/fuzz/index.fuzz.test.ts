/**
 * Hostile index tars. Indexes of real corpus archives are mutated two ways: as they are
 * (the trailer's checksum then no longer matches), and "resealed": header checksums, the
 * trailer's index checksum and its MAC recomputed with the store's key after the mutation,
 * as a buggy writer would leave it, so that the record decoder, the tar reader and the
 * restore and listing code behind them meet the damage (test/reliability/forged-index.test.ts
 * has the rewrites of someone without the key). Restore (in-process, on the real
 * store) and `dtar ls` (the real command line) must either succeed or fail with a typed
 * error (exit 1, 2 or 3, one line); restore of an unsealed mutation writes nothing; a
 * resealed restore that succeeds writes bytes only the index could have described. Never an
 * internal error, never a hang.
 * DTAR_FUZZ_CASES (default 150; `npm run test:fuzz-long` runs 20000); DTAR_SEED replays.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { DtarError } from '../../src/errors';
import { encodeTrailer, parseMeta, parseTrailer } from '../../src/index/meta';
import { readIndex } from '../../src/index/reader';
import { OWNER_SEALER } from '../../src/index/seal';
import { Repository } from '../../src/repo/repository';
import { restoreTar } from '../../src/restore/restore';
import { LocalBackend } from '../../src/store/local';
import { readTar } from '../../src/tar/reader';
import { buildCorpus, defaultCorpusDir } from '../fixtures/corpus';
import { Rng, seedFromEnv } from '../support/random';
import { headerBlocks, mutate, mutateInPlace } from './mutate';
import { dtar, testStore, type TestStore } from '../support/dtar';

const CASES = Number(process.env.DTAR_FUZZ_CASES ?? 150);
const CASE_MS = 30_000;
const PASSPHRASE = 'fuzz';

interface Sample {
  name: string;
  original: Buffer;
  index: Buffer;
  /** The index up to its trailer, the header blocks in it, and how to write a trailer for it. */
  body: Buffer;
  headers: number[];
  reseal(body: Buffer): Buffer;
}

let tmp: TestStore;
let env: NodeJS.ProcessEnv;
let repo: Repository;
const samples: Sample[] = [];

async function sample(name: string, original: Buffer, index: Buffer): Promise<Sample> {
  let tag = '';
  let trailerAt = -1;
  let records: ReadonlyMap<string, Buffer> | null = null;
  for await (const item of readTar(Readable.from([index]))) {
    if (item.kind !== 'global') continue;
    const meta = parseMeta(item.records);
    if (meta) tag = meta.tag;
    else if (parseTrailer(item.records, tag)) {
      trailerAt = item.offset;
      records = item.records;
    }
  }
  assert.ok(trailerAt > 0 && records);
  const trailer = parseTrailer(records, tag)!;
  const body = index.subarray(0, trailerAt);
  return {
    name,
    original,
    index,
    body,
    headers: headerBlocks(body),
    reseal: (b) => Buffer.concat([b, encodeTrailer(tag, { ...trailer, indexSha256: createHash('sha256').update(b).digest() }, repo.indexAuth.sealerKey(OWNER_SEALER)), Buffer.alloc(1024)]),
  };
}

before(async () => {
  tmp = await testStore(PASSPHRASE);
  env = tmp.env;
  assert.equal((await dtar(['init', '--quiet'], { env, inProcess: true })).code, 0);
  const corpus = await buildCorpus(defaultCorpusDir());
  for (const a of corpus.archives) {
    if (a.compressed) continue;
    const original = await readFile(a.path);
    if (original.length > 256 * 1024) continue;
    const index = join(tmp.dir, `${a.name}.idx`);
    const r = await dtar(['ingest', a.path, '-o', index, '--quiet'], { env, inProcess: true });
    assert.equal(r.code, 0, r.stderr);
    samples.push(await sample(a.name, original, await readFile(index)));
  }
  assert.ok(samples.length >= 6);
  repo = await Repository.open(new LocalBackend(env.DTAR_STORE!), PASSPHRASE, null);
});
after(() => tmp.cleanup());

function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (a hang)`)), ms)))]).finally(() => clearTimeout(timer));
}

async function restoreFrom(index: Buffer): Promise<{ out: Buffer; error: unknown }> {
  const parts: Buffer[] = [];
  try {
    await restoreTar(repo, { where: 'index', open: () => Readable.from([index]), auth: repo.indexAuth }, async (pieces) => void parts.push(...pieces.map((b) => Buffer.from(b))));
    return { out: Buffer.concat(parts), error: null };
  } catch (error) {
    return { out: Buffer.concat(parts), error };
  }
}

test(`${CASES} mutated index tars: restore and ls succeed or fail with a typed error`, async () => {
  const base = seedFromEnv();
  const file = join(tmp.dir, 'case.idx');
  for (let i = 0; i < CASES; i++) {
    const seed = (base + i) >>> 0;
    const rng = new Rng(seed);
    const s = rng.pick(samples);
    const resealed = rng.int(3) > 0;
    const index = resealed ? s.reseal(mutateInPlace(rng, s.body, s.headers)) : mutate(rng, s.index);
    const what = `case ${i}: index of ${s.name}, ${resealed ? 'resealed' : 'raw'} mutation, seed ${seed} (replay: DTAR_SEED=${seed} DTAR_FUZZ_CASES=1)`;

    const r = await within(CASE_MS, restoreFrom(index), what);
    if (r.error !== null) {
      assert.ok(r.error instanceof DtarError, `${what}: restore failed with ${r.error instanceof Error ? r.error.stack : String(r.error)}`);
      assert.ok(!r.error.message.includes('\n'), `${what}: one line`);
      if (!resealed) assert.equal(r.out.length, 0, `${what}: a damaged index writes nothing`);
    } else if (!resealed) {
      assert.ok(r.out.equals(s.original), `${what}: an index that restores gives the original`);
    }

    // The reader alone, as every command uses it: typed errors only.
    try {
      for await (const item of readIndex(Readable.from([index]), 'index', repo.indexAuth)) void item;
    } catch (e) {
      assert.ok(e instanceof DtarError, `${what}: readIndex threw ${e instanceof Error ? e.stack : String(e)}`);
    }

    // The real command line, on a sample of the cases.
    if (i % 10 === 0) {
      await writeFile(file, index);
      const ls = await within(CASE_MS, dtar(['ls', '-l', file], { env, inProcess: true }), `${what}, ls`);
      if (ls.code !== 0) {
        assert.ok([1, 2, 3].includes(ls.code), `${what}: ls exit ${ls.code}: ${ls.stderr}`);
        assert.match(ls.stderr, /^dtar: [^\n]+\n$/, `${what}: ls says it in one line`);
      }
    }
  }
});
