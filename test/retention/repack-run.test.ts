/**
 * `dtar prune --repack` carried out, through the real CLI: the live chunks of partly dead
 * bricks go into new bricks, the old ones are deleted, and every reader still finds them from
 * the OLD local index files (which name the deleted bricks), through the forwarding records:
 * restore, @NAME, cat, extract, a real FUSE mount, thaw's plan, `verify --read-data`; a brick
 * repacked twice (a chain); `kill -9` after each step of the order, then restore works and a
 * rerun finishes; a pruned archive's local index still fails with the one-line pruned error;
 * bricks a writer key wrote are repacked too; and the same on the S3 test server, where the
 * new bricks keep the old ones' storage class.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { decodeSegment } from '../../src/catalogue/segment';
import { scanCatalogue } from '../../src/verify/catalogue-scan';
import { Repository } from '../../src/repo/repository';
import { LocalBackend } from '../../src/store/local';
import { dtar, ok, testStore, type DtarResult, type TestStore } from '../support/dtar';
import { randomTar, randomTarSource } from '../support/random';
import { startS3TestServer, type S3TestServer } from '../support/s3-server';
import { initStore, s3Store, type S3Store } from '../s3/cli';
import { assertOneLineError, checkStoreObjects, walk } from '../reliability/support';
import { isMountpoint, startMount } from '../mount/fixture';

const run = promisify(execFile);
const PASS = 'correct horse battery staple';
const DAY = 86_400_000;

interface PruneJson {
  deleted: { id: string }[];
  partlyDead: { id: string }[];
  repacked: { id: string }[];
  written: { id: string; storageClass: string; size: number; chunks: number }[];
  repack?: { candidates: { id: string; verdict: string; liveBytes: number }[] };
  before: { bricks: number; bytes: number };
  after: { bricks: number; bytes: number };
}

type Cmd = (args: string[], env?: NodeJS.ProcessEnv) => Promise<string>;

interface Archives {
  tars: Record<string, string>;
  indexes: Record<string, string>;
}

/**
 * Archives sharing data: `mixed` (keep/a, keep/b, gone/c: more than a 1 MiB brick, so a
 * brick holds kept and dropped data), `keep` (keep/) and `keepA` (keep/a alone), both
 * deduplicated into mixed's bricks; `mixed` forgotten.
 */
async function setUp(dir: string, cmd: Cmd, extra: string[] = []): Promise<Archives> {
  const tars: Record<string, string> = { mixed: await randomTar(dir, { keep: [400_000, 400_000], gone: [700_000] }, 'mixed.tar') };
  const src = randomTarSource(dir, 'mixed.tar');
  tars.keep = join(dir, 'keep.tar');
  tars.keepA = join(dir, 'keepA.tar');
  await run('tar', ['-C', src, '--sort=name', '--format=posix', '-cf', tars.keep, 'keep']);
  const first = (await readdir(join(src, 'keep'))).sort()[0]!;
  await run('tar', ['-C', src, '--format=posix', '-cf', tars.keepA, `keep/${first}`]);
  const indexes: Record<string, string> = {};
  for (const name of ['mixed', 'keep', 'keepA']) {
    indexes[name] = join(dir, `${name}.index.tar`);
    await cmd(['ingest', tars[name]!, '--name', name, '-o', indexes[name]!, '-q', ...extra]);
  }
  await cmd(['forget', 'mixed', '-q']);
  return { tars, indexes };
}

async function localCmd(s: TestStore): Promise<Cmd> {
  return async (args, env = s.env) => ok(await dtar(args, { env }), args.join(' ')).stdout.toString();
}

async function brickIds(s: TestStore): Promise<string[]> {
  return (await walk(join(s.store, 'bricks'))).map((p) => p.split('/').at(-1)!).sort();
}

async function movedIds(s: TestStore): Promise<string[]> {
  return (await walk(s.store)).filter((p) => p.startsWith('moved/')).map((p) => p.slice('moved/'.length)).sort();
}

async function catalogueBricks(s: TestStore): Promise<string[]> {
  const repo = await Repository.open(new LocalBackend(s.store), PASS, null);
  return [...(await scanCatalogue(repo.backend, repo.keys)).bricks.keys()].sort();
}

/** `verify --read-data` run by `run`: its exit code and what it said. */
function verifyData(run: (args: string[]) => Promise<DtarResult>): () => Promise<{ code: number | null; out: string }> {
  return async () => {
    const r = await run(['verify', '--read-data']);
    return { code: r.code, out: r.stdout.toString() + r.stderr };
  };
}

/** Each named archive restores byte for byte from its old local index and as @NAME; verify --read-data is clean. */
async function assertRestores(cmd: (args: string[]) => Promise<Buffer>, verify: () => Promise<{ code: number | null; out: string }>, a: Archives, names: string[]): Promise<void> {
  for (const name of names) {
    const want = await readFile(a.tars[name]!);
    assert.ok((await cmd(['restore', a.indexes[name]!])).equals(want), `${name} restores byte for byte from its old local index`);
    assert.ok((await cmd(['restore', `@${name}`])).equals(want), `@${name} restores byte for byte`);
  }
  const v = await verify();
  assert.equal(v.code, 0, `verify --read-data is clean: ${v.out}`);
}

describe('dtar prune --repack on a local store', () => {
  let s: TestStore;
  let cmd: Cmd;
  let a: Archives;
  const bytes = async (args: string[]): Promise<Buffer> => ok(await dtar(args, { env: s.env }), args.join(' ')).stdout;
  const verify = verifyData((args) => dtar(args, { env: s.env }));
  before(async () => {
    s = await testStore(PASS);
    cmd = await localCmd(s);
    ok(await dtar(['init', '--brick-size', '1M'], { env: s.env }), 'init');
    a = await setUp(s.dir, cmd);
    // Mounted once before the repack: the tree cache keeps the index's tables, brick refs and all.
    const m = await startMount({ env: s.env, index: a.indexes.keep }, join(s.dir, 'mnt'));
    await m.stop();
  });
  after(() => s.cleanup());

  let firstNew: string[] = [];

  /** The tree cache's files (docs/FORMAT.md §10) and their bytes (sealed with a random nonce: a tree written anew differs). */
  const trees = async (): Promise<Map<string, string>> => {
    const root = join(s.dir, 'cache', 'dtar');
    const out = new Map<string, string>();
    for (const f of await walk(root)) if (f.includes('/trees/')) out.set(f, (await readFile(join(root, f))).toString('hex'));
    return out;
  };

  it('rewrites the partly dead brick, deletes it, and the store is smaller', async () => {
    const old = await brickIds(s);
    const dry = JSON.parse(await cmd(['prune', '--dry-run', '--repack', '--json'])) as PruneJson;
    assert.deepEqual(dry.written, [], 'a dry run writes nothing');
    assert.deepEqual(await brickIds(s), old);
    const p = JSON.parse(await cmd(['prune', '--repack', '--json'])) as PruneJson;
    assert.ok(p.repacked.length >= 1, 'a brick repacked');
    assert.deepEqual(p.repacked.map((b) => b.id).sort(), dry.repacked.map((b) => b.id).sort(), 'as planned');
    assert.ok(p.written.length >= 1 && p.written.every((b) => b.storageClass === 'STANDARD'));
    const now = await brickIds(s);
    for (const b of p.repacked) assert.ok(!now.includes(b.id), `old brick ${b.id} deleted`);
    for (const b of p.written) assert.ok(now.includes(b.id), `new brick ${b.id} stored`);
    firstNew = p.written.map((b) => b.id);
    assert.deepEqual(await movedIds(s), p.repacked.map((b) => b.id).sort(), 'one forwarding record per repacked brick');
    assert.deepEqual(await catalogueBricks(s), now, 'the catalogue names exactly the bricks stored');
    const size = (await Promise.all(now.map(async (id) => (await readFile(join(s.store, 'bricks', id.slice(0, 2), id))).length))).reduce((x, y) => x + y, 0);
    assert.ok(size < p.before.bytes, `the store is smaller (${size} < ${p.before.bytes})`);
    await checkStoreObjects(s.store, PASS);
    const again = JSON.parse(await cmd(['prune', '--repack', '--json'])) as PruneJson;
    assert.deepEqual([again.repacked.length, again.deleted.length, again.written.length], [0, 0, 0], 'nothing left to do');
  });

  it('the old local indexes (naming the deleted brick) restore, cat and extract byte for byte; verify --read-data is clean', async () => {
    await assertRestores(bytes, verify, a, ['keep', 'keepA']);
    const files = (await readdir(join(randomTarSource(s.dir, 'mixed.tar'), 'keep'))).sort();
    const want = await readFile(join(randomTarSource(s.dir, 'mixed.tar'), 'keep', files[1]!));
    assert.ok((await bytes(['cat', a.indexes.keep!, `keep/${files[1]}`])).equals(want), 'cat');
    const out = join(s.dir, 'extracted');
    await mkdir(out);
    await cmd(['extract', a.indexes.keep!, '-C', out, '-q']);
    assert.ok((await readFile(join(out, 'keep', files[1]!))).equals(want), 'extract');
    const status = await cmd(['thaw', '--status', a.indexes.keep!]);
    assert.doesNotMatch(status, /missing/i, `thaw's plan finds the new bricks: ${status}`);
  });

  it('a FUSE mount of the old index, from the tree it cached before the repack, reads the moved chunks', async () => {
    const cached = await trees();
    assert.equal(cached.size, 1, 'the first mount cached its tree');
    const dir = join(s.dir, 'mnt');
    const m = await startMount({ env: s.env, index: a.indexes.keep }, dir);
    try {
      const src = join(randomTarSource(s.dir, 'mixed.tar'), 'keep');
      for (const f of await readdir(src)) assert.ok((await readFile(join(dir, 'keep', f))).equals(await readFile(join(src, f))), `${f} through the mount`);
    } finally {
      await m.stop();
    }
    assert.equal(await isMountpoint(dir), false);
    assert.deepEqual(await trees(), cached, 'the stale cached tree was used, not written anew');
  });

  it("the forgotten archive's local index fails with the one-line pruned error", async () => {
    const r = await dtar(['restore', a.indexes.mixed!], { env: s.env });
    assertOneLineError(r, 3, /mixed\.index\.tar: archive mixed of \S+ was forgotten and its bricks pruned/);
    assert.equal(r.stdout.length, 0);
  });

  it('a brick repacked again: readers follow the chain from the oldest index; records go once no index needs them', async () => {
    await cmd(['forget', 'keep', '-q']);
    const p = JSON.parse(await cmd(['prune', '--repack', '--json'])) as PruneJson;
    assert.ok(
      p.repacked.some((b) => firstNew.includes(b.id)),
      `the first repack's new brick is repacked again (${p.repacked.map((b) => b.id).join(', ')})`,
    );
    const moved = await movedIds(s);
    assert.ok(moved.some((m) => firstNew.includes(m)), 'its forwarding record is there');
    assert.ok(moved.length >= 2, 'and the first one is kept: keepA names the first brick');
    await assertRestores(bytes, verify, a, ['keepA']);
    const r = await dtar(['restore', a.indexes.keep!], { env: s.env });
    assertOneLineError(r, 3, /keep\.index\.tar: archive keep of \S+ was forgotten and its bricks pruned/);

    await cmd(['forget', 'keepA', '-q']);
    await cmd(['prune', '--repack', '-q']);
    assert.deepEqual(await movedIds(s), [], 'no index names a repacked brick: no forwarding record is left');
    assert.deepEqual(await catalogueBricks(s), await brickIds(s));
  });
});

describe('dtar prune --repack killed at each step', () => {
  // The order: new bricks, their segment, forwarding records, the catalogue rewritten, old bricks deleted.
  for (const point of ['repack-brick-written:1', 'repack-segment-written:1', 'moved-written:1', 'segment-deleted:1', 'brick-deleted:1']) {
    it(`kill -9 after ${point}: the old indexes restore, verify is clean, a rerun finishes`, async () => {
      const s = await testStore(PASS);
      try {
        const cmd = await localCmd(s);
        ok(await dtar(['init', '--brick-size', '1M'], { env: s.env }), 'init');
        const a = await setUp(s.dir, cmd);
        const bytes = async (args: string[]): Promise<Buffer> => ok(await dtar(args, { env: s.env }), args.join(' ')).stdout;
        const verify = verifyData((args) => dtar(args, { env: s.env }));
        const killed = await dtar(['prune', '--repack', '-q'], { env: { ...s.env, DTAR_TEST_CRASH_AT: point } });
        assert.equal(killed.code, -1, `killed by SIGKILL (${killed.stderr})`);
        await checkStoreObjects(s.store, PASS);
        await assertRestores(bytes, verify, a, ['keep', 'keepA']);
        // The killed prune's lock is stale (its process is gone): the rerun runs and finishes.
        await cmd(['prune', '--repack', '-q']);
        const done = JSON.parse(await cmd(['prune', '--repack', '--dry-run', '--json'])) as PruneJson;
        assert.deepEqual([done.repacked.length, done.deleted.length], [0, 0], 'nothing left to do');
        assert.deepEqual(done.repack!.candidates.filter((c) => c.verdict === 'repack'), []);
        assert.deepEqual(await catalogueBricks(s), await brickIds(s));
        const moved = await movedIds(s);
        const stored = await brickIds(s);
        assert.ok(moved.length >= 1 && moved.every((m) => !stored.includes(m)), 'each forwarding record stands for a deleted brick');
        await assertRestores(bytes, verify, a, ['keep', 'keepA']);
      } finally {
        await s.cleanup();
      }
    });
  }
});

describe('dtar prune --repack meeting a damaged chunk', () => {
  it('stops in one line before any old brick leaves the catalogue or the store, and writes no forwarding record', async () => {
    const s = await testStore(PASS);
    try {
      const cmd = await localCmd(s);
      ok(await dtar(['init', '--brick-size', '1M'], { env: s.env }), 'init');
      await setUp(s.dir, cmd);
      const dry = JSON.parse(await cmd(['prune', '--dry-run', '--repack', '--json'])) as PruneJson;
      const target = dry.repacked[0]!.id;
      // One bit flipped inside every chunk of the brick to repack: whichever are live, they are damaged.
      const repo = await Repository.open(new LocalBackend(s.store), PASS, null);
      const path = join(s.store, 'bricks', target.slice(0, 2), target);
      const brick = await readFile(path);
      for (const seg of (await walk(s.store)).filter((p) => p.startsWith('catalogue/'))) {
        for (const r of decodeSegment(repo.keys, await readFile(join(s.store, seg)), seg)) {
          if (r.id.toString('hex') === target) for (const c of r.chunks) brick[c.offset + 20]! ^= 1;
        }
      }
      await writeFile(path, brick);
      const before = await catalogueBricks(s);
      const r = await dtar(['prune', '--repack'], { env: s.env });
      assertOneLineError(r, 1, /prune --repack stopped, nothing deleted: brick [0-9a-f]{64}: .*; run `dtar verify --read-data`/);
      assert.ok((await brickIds(s)).includes(target), 'the damaged brick is still stored');
      assert.deepEqual((await catalogueBricks(s)).filter((b) => before.includes(b)), before, 'and every brick the catalogue named still is');
      assert.deepEqual(await movedIds(s), [], 'no forwarding record');
    } finally {
      await s.cleanup();
    }
  });
});

describe('dtar prune --repack of bricks a writer key wrote', () => {
  it('copies chunks sealed to the store into a version 1 brick, which reads', async () => {
    const s = await testStore(PASS);
    try {
      const cmd = await localCmd(s);
      ok(await dtar(['init', '--brick-size', '1M'], { env: s.env }), 'init');
      const keyPath = join(s.dir, 'w.key');
      await cmd(['key', 'export-writer', '-o', keyPath, '-q']);
      const writer: NodeJS.ProcessEnv = { ...s.env, DTAR_KEY_FILE: keyPath, XDG_CACHE_HOME: join(s.dir, 'writer-cache') };
      delete writer.DTAR_PASSWORD;
      // The writer ingests; forget needs the passphrase.
      const a = await setUp(s.dir, async (args) => {
        const env = args[0] === 'ingest' ? writer : s.env;
        return ok(await dtar(args, { env }), args[0]!).stdout.toString();
      });
      const p = JSON.parse(await cmd(['prune', '--repack', '--json'])) as PruneJson;
      assert.ok(p.repacked.length >= 1 && p.written.length >= 1);
      for (const b of p.written) {
        const brick = await readFile(join(s.store, 'bricks', b.id.slice(0, 2), b.id));
        assert.equal(brick.subarray(brick.length - 8).toString('latin1'), 'DTARBRK1', 'the new brick is of version 1');
        assert.ok(brick.includes(Buffer.from('DTCHKS1\0', 'latin1')), 'holding chunks sealed to the store, as they were');
      }
      const bytes = async (args: string[]): Promise<Buffer> => ok(await dtar(args, { env: s.env }), args.join(' ')).stdout;
      await assertRestores(bytes, verifyData((args) => dtar(args, { env: s.env })), a, ['keep', 'keepA']);
    } finally {
      await s.cleanup();
    }
  });
});

describe('dtar prune --repack on S3', () => {
  let server: S3TestServer;
  let s: S3Store;
  before(async () => {
    server = await startS3TestServer();
    s = await s3Store(server, 'repack-run');
    await initStore(s, ['--brick-size', '1M']);
  });
  after(async () => {
    await server.stop();
    await s.cleanup();
  });

  it('Standard-IA bricks past their 30 days: rewritten in their class with ranged GETs of the live runs, old indexes restore', async () => {
    const cmd: Cmd = async (args) => ok(await s.dtar(args), args.join(' ')).stdout.toString();
    const a = await setUp(s.dir, cmd, ['--storage-class', 'STANDARD_IA']);
    const env = { ...s.env, DTAR_TEST_NOW: new Date(Date.now() + 40 * DAY).toISOString() };
    // Storage dear enough that a 1 MiB brick's dead bytes pay for its retrieval and PUT.
    const prices = join(s.dir, 'prices.json');
    await writeFile(prices, JSON.stringify({ classes: { STANDARD_IA: { storagePerGBMonth: 100 } } }));
    const before = server.requests.length;
    const p = JSON.parse(ok(await dtar(['prune', '--repack', '--json', '--prices', prices, ...s.args], { env }), 'prune').stdout.toString()) as PruneJson;
    assert.ok(p.repacked.length >= 1 && p.written.length >= 1, JSON.stringify(p.repack));
    assert.ok(p.written.every((b) => b.storageClass === 'STANDARD_IA'), 'the new bricks keep the class');
    const reads = server.requests.slice(before).filter((r) => r.op === 'GetObject' && r.key.includes('/bricks/'));
    assert.ok(reads.length >= 1, 'the old brick was read');
    assert.ok(
      reads.every((r) => /^bytes=\d+-\d+$/.test(String(r.headers.range))),
      'by ranged GETs of its live runs',
    );
    const read = reads.reduce((n, r) => {
      const [from, to] = String(r.headers.range).slice('bytes='.length).split('-').map(Number);
      return n + to! - from! + 1;
    }, 0);
    const live = p.repack!.candidates.filter((c) => c.verdict === 'repack').reduce((n, c) => n + c.liveBytes, 0);
    assert.equal(read, live, 'exactly the live bytes, as priced');
    const puts = server.requests.slice(before).filter((r) => r.op === 'PutObject' && r.key.includes('/bricks/'));
    assert.equal(puts.length, p.written.length);
    const bytes = async (args: string[]): Promise<Buffer> => ok(await s.dtar(args), args.join(' ')).stdout;
    await assertRestores(bytes, verifyData((args) => s.dtar(args)), a, ['keep', 'keepA']);
  });

  it('Glacier bricks: repacked only once thawed; thaw planned from the old index finds the new brick', async () => {
    const g = await s3Store(server, 'repack-glacier', 'backups/glacier');
    try {
      await initStore(g, ['--brick-size', '1M']);
      const a = await setUp(g.dir, async (args) => ok(await g.dtar(args), args.join(' ')).stdout.toString(), ['--storage-class', 'GLACIER']);
      const prices = join(g.dir, 'prices.json');
      await writeFile(prices, JSON.stringify({ classes: { GLACIER: { storagePerGBMonth: 100 } } }));
      const env = { ...g.env, DTAR_TEST_NOW: new Date(Date.now() + 100 * DAY).toISOString() };
      const prune = async (): Promise<PruneJson> => JSON.parse(ok(await dtar(['prune', '--repack', '--json', '--prices', prices, ...g.args], { env }), 'prune').stdout.toString()) as PruneJson;
      const cold = await prune();
      assert.ok(cold.repack!.candidates.some((c) => c.verdict === 'needs-thaw'));
      assert.deepEqual([cold.repacked.length, cold.written.length], [0, 0], 'an archived brick is never repacked');

      for (const name of ['keep', 'keepA']) ok(await g.dtar(['thaw', '-q', a.indexes[name]!]), `thaw ${name}`);
      assert.ok(server.completeRestores() > 0);
      const p = await prune();
      assert.ok(p.repacked.length >= 1 && p.written.length >= 1);
      assert.ok(p.written.every((b) => b.storageClass === 'GLACIER'), 'the new bricks keep the class');
      // The new brick is archived: the old index is refused with the thaw message, and thaw finds it through the forwarding record.
      assertOneLineError(await g.dtar(['restore', a.indexes.keep!]), 4, /dtar thaw/);
      const status = ok(await g.dtar(['thaw', '--status', a.indexes.keep!]), 'status').stdout.toString();
      assert.match(status, /archived: +1 /, status);
      assert.doesNotMatch(status, /missing/i);
      for (const name of ['keep', 'keepA']) ok(await g.dtar(['thaw', '-q', a.indexes[name]!]), `thaw ${name} again`);
      assert.ok(server.completeRestores(new RegExp(p.written[0]!.id)) === 1, 'the new brick was thawed');
      await assertRestores(async (args) => ok(await g.dtar(args), args.join(' ')).stdout, verifyData((args) => g.dtar(args)), a, ['keep', 'keepA']);
    } finally {
      await g.cleanup();
    }
  });
});
