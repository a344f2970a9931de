/**
 * `dtar prune` on the S3 test server with storage classes: minimum storage durations counted
 * by an injected clock (DTAR_TEST_NOW), the early-deletion charge, and no brick read (a
 * Deep Archive brick would refuse a GET until thawed).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_PRICES, GB } from '../../src/pricing/prices';
import { dtar, ok } from '../support/dtar';
import { startS3TestServer, type S3TestServer } from '../support/s3-server';
import { initStore, s3Store, type S3Store } from '../s3/cli';
import { randomTar } from '../support/random';

interface Fate {
  id: string;
  storageClass: string;
  size: number;
  ageDays: number;
  earlyCharge: number;
  freeFrom: string | null;
}

interface PruneJson {
  deleted: Fate[];
  waiting: Fate[];
  earlyDeletionCharge: number;
  waitingCharge: number;
  before: { bricks: number; byClass: Record<string, { bricks: number }> };
  after: { bricks: number; byClass: Record<string, { bricks: number }> };
}

const DAY = 86_400_000;

describe('dtar prune on S3 with storage classes', () => {
  let server: S3TestServer;
  let s: S3Store;
  let keepTar: string;
  let keepIndex: string;
  let t0: number;

  before(async () => {
    server = await startS3TestServer();
    s = await s3Store(server, 'prune');
    await initStore(s, ['--brick-size', '1M']);
    t0 = Date.now();
    keepTar = await randomTar(join(s.dir, 'keep'), { d: [1_500_000, 100] });
    keepIndex = join(s.dir, 'keep.index.tar');
    ok(await s.dtar(['ingest', keepTar, '--name', 'keep', '-o', keepIndex, '-q']), 'ingest keep');
    for (const [name, cls] of [['ia', 'STANDARD_IA'], ['deep', 'DEEP_ARCHIVE']] as const) {
      const tar = await randomTar(join(s.dir, name), { d: [1_500_000, 200] });
      ok(await s.dtar(['ingest', tar, '--name', name, '--storage-class', cls, '-o', join(s.dir, `${name}.index.tar`), '-q']), `ingest ${name}`);
    }
    ok(await s.dtar(['forget', 'ia', 'deep', '-q']), 'forget');
  });
  after(async () => {
    await server.stop();
    await s.cleanup();
  });

  const prune = async (now: number, ...extra: string[]): Promise<PruneJson> => {
    const env = { ...s.env, DTAR_TEST_NOW: new Date(now).toISOString() };
    return JSON.parse(ok(await dtar(['prune', '--json', ...extra, ...s.args], { env }), `prune ${extra.join(' ')}`).stdout.toString()) as PruneJson;
  };

  it('keeps dead bricks within their minimum duration, with the charge deleting them would cost', async () => {
    const p = await prune(t0, '--dry-run');
    assert.deepEqual(p.deleted, []);
    const classes = [...new Set(p.waiting.map((b) => b.storageClass))].sort();
    assert.deepEqual(classes, ['DEEP_ARCHIVE', 'STANDARD_IA']);
    for (const b of p.waiting) {
      const min = DEFAULT_PRICES.classes[b.storageClass as 'DEEP_ARCHIVE'].minimumDays;
      const price = DEFAULT_PRICES.classes[b.storageClass as 'DEEP_ARCHIVE'].storagePerGBMonth;
      const expected = (b.size / GB) * price * ((min - b.ageDays) / 30);
      assert.ok(Math.abs(b.earlyCharge - expected) < 1e-12, `${b.storageClass} charge`);
      assert.ok(Date.parse(b.freeFrom!) - (t0 + min * DAY) < 60_000 && Date.parse(b.freeFrom!) >= t0 + min * DAY - 60_000, 'free once the minimum is over');
    }
    assert.ok(Math.abs(p.waitingCharge - p.waiting.reduce((n, b) => n + b.earlyCharge, 0)) < 1e-15);
    assert.equal(p.before.byClass['STANDARD']!.bricks, p.after.byClass['STANDARD']!.bricks);
  });

  it('31 days on: Standard-IA bricks are free to delete, Deep Archive ones wait; --early-delete deletes them and reports the charge', async () => {
    const before = server.requests.length;
    const p = await prune(t0 + 31 * DAY);
    assert.ok(p.deleted.length > 0 && p.deleted.every((b) => b.storageClass === 'STANDARD_IA' && b.earlyCharge === 0));
    assert.equal(p.earlyDeletionCharge, 0);
    assert.ok(p.waiting.length > 0 && p.waiting.every((b) => b.storageClass === 'DEEP_ARCHIVE'));
    assert.equal(p.after.byClass['STANDARD_IA'], undefined);

    const e = await prune(t0 + 31 * DAY, '--early-delete');
    assert.ok(e.deleted.length > 0 && e.deleted.every((b) => b.storageClass === 'DEEP_ARCHIVE'));
    assert.deepEqual(e.waiting, []);
    const expected = e.deleted.reduce((n, b) => n + (b.size / GB) * 0.00099 * ((180 - b.ageDays) / 30), 0);
    assert.ok(e.earlyDeletionCharge > 0 && Math.abs(e.earlyDeletionCharge - expected) < 1e-12);
    assert.deepEqual(Object.keys(e.after.byClass), ['STANDARD']);
    const brickReads = server.requests.slice(before).filter((r) => r.op === 'GetObject' && r.key.includes('/bricks/'));
    assert.deepEqual(brickReads, [], 'prune reads no brick');

    const back = ok(await s.dtar(['restore', keepIndex]), 'restore').stdout;
    assert.ok(back.equals(await readFile(keepTar)));
    ok(await s.dtar(['verify', '--read-data']), 'verify --read-data');
  });
});
