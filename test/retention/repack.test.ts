/**
 * `dtar prune --repack --dry-run`: each partly dead brick priced for a repack from the one
 * price table, on a local store and on the S3 test server with Glacier bricks: a brick not
 * thawed is never repacked (said so), a thawed one is when it pays; no brick is read
 * (the repack carried out: repack-run.test.ts).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DEFAULT_PRICES, GB, MONTH_DAYS } from '../../src/pricing/prices';
import type { RepackCandidate } from '../../src/retention/repack';
import { dtar, ok, testStore, type TestStore } from '../support/dtar';
import { randomTar, randomTarSource } from '../support/random';
import { startS3TestServer, type S3TestServer } from '../support/s3-server';
import { initStore, s3Store, type S3Store } from '../s3/cli';

const run = promisify(execFile);

interface PruneJson {
  partlyDead: { id: string; deadBytes: number }[];
  after: { bricks: number; bytes: number; monthly: number };
  repack?: { candidates: RepackCandidate[]; net: number; liveBytes: number };
}

const DAY = 86_400_000;

/**
 * Ingests `mixed` (dirs keep/ and gone/, 700 kB each: more than a 1 MiB brick, so a brick holds
 * both) and then `keep`, a tar of keep/ alone (its chunks deduplicated into mixed's bricks),
 * and forgets `mixed`: the brick holding keep/ and some of gone/ is partly dead.
 */
async function partlyDeadStore(dir: string, cmd: (args: string[]) => Promise<void>, name: string, extra: string[] = []): Promise<void> {
  const mixed = await randomTar(dir, { keep: [700_000], gone: [700_000] }, `${name}-mixed.tar`);
  const keep = join(dir, `${name}-keep.tar`);
  await run('tar', ['-C', randomTarSource(dir, `${name}-mixed.tar`), '--sort=name', '--format=posix', '-cf', keep, 'keep']);
  await cmd(['ingest', mixed, '--name', `${name}-mixed`, '-o', join(dir, `${name}-mixed.index.tar`), '-q', ...extra]);
  await cmd(['ingest', keep, '--name', `${name}-keep`, '-o', join(dir, `${name}-keep.index.tar`), '-q', ...extra]);
  await cmd(['forget', `${name}-mixed`, '-q']);
}

function checkArithmetic(c: RepackCandidate): void {
  assert.ok(Math.abs(c.net - (c.saving - c.earlyCharge - c.requestCost - c.retrievalCost)) < 1e-15, `net of ${c.id}`);
}

describe('dtar prune --repack on a local store', () => {
  let s: TestStore;
  const env = (): NodeJS.ProcessEnv => s.env;
  before(async () => {
    s = await testStore();
    ok(await dtar(['init', '--brick-size', '1M'], { env: env() }), 'init');
    await partlyDeadStore(s.dir, async (args) => void ok(await dtar(args, { env: env() }), args[0]!), 'a');
  });
  after(() => s.cleanup());

  const prune = async (...extra: string[]): Promise<PruneJson> => JSON.parse(ok(await dtar(['prune', '--dry-run', '--json', ...extra], { env: env() }), `prune ${extra.join(' ')}`).stdout.toString()) as PruneJson;

  it('prices each partly dead brick: its dead bytes over a month against a PUT and the GETs of its live runs', async () => {
    const plain = await prune();
    assert.equal(plain.repack, undefined, 'no repack plan unless asked');
    const p = await prune('--repack');
    const r = p.repack!;
    assert.ok(plain.partlyDead.length >= 1);
    assert.deepEqual(r.candidates.map((c) => c.id).sort(), plain.partlyDead.map((b) => b.id).sort(), 'every partly dead brick is priced');
    const std = DEFAULT_PRICES.classes.STANDARD;
    for (const c of r.candidates) {
      checkArithmetic(c);
      assert.equal(c.state, 'readable');
      assert.equal(c.horizonDays, MONTH_DAYS, 'Standard has no minimum duration: a month');
      assert.ok(c.liveBytes >= 700_000 && c.liveBytes + c.deadBytes <= c.size);
      assert.ok(Math.abs(c.saving - (c.deadBytes / GB) * std.storagePerGBMonth) < 1e-15);
      assert.equal(c.earlyCharge, 0);
      assert.equal(c.retrievalCost, 0);
      assert.ok(c.requestCost >= std.putPer1000 / 1000 + std.getPer1000 / 1000);
      assert.equal(c.verdict, 'repack', `a brick with ${c.deadBytes} dead bytes pays for a PUT`);
    }
    assert.ok(Math.abs(r.net - r.candidates.reduce((n, c) => n + c.net, 0)) < 1e-15);
    const freed = r.candidates.reduce((n, c) => n + c.size - c.liveBytes, 0);
    assert.equal(p.after.bytes, plain.after.bytes - freed, 'after counts the repacked bricks at their live bytes');
    const text = ok(await dtar(['prune', '--dry-run', '--repack'], { env: env() }), 'text').stdout.toString();
    assert.match(text, /repack plan: 1 of 1 partly dead bricks pay to repack/);
  });

  it('a brick whose repack costs more than it saves is kept, said so', async () => {
    const prices = join(s.dir, 'dear-puts.json');
    await writeFile(prices, JSON.stringify({ classes: { STANDARD: { putPer1000: 1000 } } }));
    const p = await prune('--repack', '--prices', prices);
    assert.ok(p.repack!.candidates.every((c) => c.verdict === 'not-worth-it' && c.net < 0));
    assert.equal(p.repack!.net, 0);
    assert.equal(p.after.bytes, (await prune()).after.bytes);
    const text = ok(await dtar(['prune', '--dry-run', '--repack', '--prices', prices], { env: env() }), 'text').stdout.toString();
    assert.match(text, /keep: repacking costs more than it saves/);
  });
});

describe('dtar prune --repack on S3 with Glacier bricks', () => {
  let server: S3TestServer;
  let s: S3Store;
  let prices: string;
  before(async () => {
    server = await startS3TestServer();
    s = await s3Store(server, 'repack');
    await initStore(s, ['--brick-size', '1M']);
    const cmd = async (args: string[]): Promise<void> => void ok(await s.dtar(args), args[0]!);
    await partlyDeadStore(s.dir, cmd, 'thawed', ['--storage-class', 'GLACIER']);
    await partlyDeadStore(s.dir, cmd, 'cold', ['--storage-class', 'GLACIER']);
    // Thaw what `thawed-keep` uses; `cold-keep`'s bricks stay archived.
    ok(await s.dtar(['thaw', '-q', join(s.dir, 'thawed-keep.index.tar')]), 'thaw');
    assert.ok(server.completeRestores() > 0);
    // Storage dear enough that a 1 MiB brick's dead bytes pay for its repack.
    prices = join(s.dir, 'prices.json');
    await writeFile(prices, JSON.stringify({ classes: { GLACIER: { storagePerGBMonth: 100 } } }));
  });
  after(async () => {
    await server.stop();
    await s.cleanup();
  });

  const prune = async (now: number, ...extra: string[]): Promise<{ json: PruneJson; text: string }> => {
    const env = { ...s.env, DTAR_TEST_NOW: new Date(now).toISOString() };
    const json = JSON.parse(ok(await dtar(['prune', '--dry-run', '--repack', '--json', ...extra, ...s.args], { env }), 'prune --json').stdout.toString()) as PruneJson;
    const text = ok(await dtar(['prune', '--dry-run', '--repack', ...extra, ...s.args], { env }), 'prune').stdout.toString();
    return { json, text };
  };

  it('a thawed brick is repacked when it pays; one not thawed is not, said so; no brick is read', async () => {
    const before = server.requests.length;
    const { json, text } = await prune(Date.now() + 100 * DAY, '--prices', prices);
    const cands = json.repack!.candidates;
    const thawed = cands.filter((c) => c.state === 'restored');
    const cold = cands.filter((c) => c.state === 'archived');
    assert.ok(thawed.length >= 1 && cold.length >= 1, `both kinds (${cands.map((c) => c.state).join(', ')})`);
    assert.equal(thawed.length + cold.length, cands.length);
    for (const c of cands) {
      checkArithmetic(c);
      assert.equal(c.storageClass, 'GLACIER');
      assert.equal(c.horizonDays, 90);
      assert.equal(c.earlyCharge, 0, 'past the 90 days');
      assert.ok(c.retrievalCost > 0, 'a thaw (the restored copy at the Bulk tier) is counted');
      assert.ok(c.net > 0);
    }
    assert.ok(thawed.every((c) => c.verdict === 'repack'));
    assert.ok(cold.every((c) => c.verdict === 'needs-thaw'));
    assert.ok(Math.abs(json.repack!.net - thawed.reduce((n, c) => n + c.net, 0)) < 1e-12, 'only the thawed bricks count');
    for (const c of cold) assert.match(text, new RegExp(`${c.id}  GLACIER  archived .*not repacked: archived, it would pay once thawed`));
    const brickReads = server.requests.slice(before).filter((r) => r.op === 'GetObject' && r.key.includes('/bricks/'));
    assert.deepEqual(brickReads, [], 'planning reads no brick');
  });

  it('at the default prices, within the 90 days, the early deletion outweighs a small brick\'s dead bytes', async () => {
    const { json } = await prune(Date.now());
    const cands = json.repack!.candidates;
    assert.ok(cands.length >= 2);
    for (const c of cands) {
      checkArithmetic(c);
      assert.ok(c.earlyCharge > c.saving);
      assert.equal(c.verdict, 'not-worth-it');
    }
  });
});
