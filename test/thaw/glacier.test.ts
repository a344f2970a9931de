/**
 * Glacier end to end, with the real CLI against the S3 test server (which answers as AWS
 * does for GLACIER objects): a store whose bricks are GLACIER, a partial thaw of one
 * directory (only its bricks requested), --status, --wait, the clear refusal of restore and
 * cat for what is not thawed, then a full thaw and a byte-exact restore.
 */
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readIndex } from '../../src/index/reader';
import type { IndexAuth } from '../../src/index/seal';
import { indexAuth } from '../support/index-auth';
import { ok } from '../support/dtar';
import { startS3TestServer, type S3TestServer } from '../support/s3-server';
import { ingest, initStore, s3Store, type S3Store } from '../s3/cli';
import { randomTar, randomTarSource } from '../support/random';

/** An independent oracle: the brick keys holding chunks of members whose path starts with `prefix`. */
async function bricksUnder(index: string, prefix: string, auth: IndexAuth): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const item of readIndex(createReadStream(index), index, auth)) {
    const chunks = item.kind === 'entry' && item.header.path.startsWith(prefix) ? (item.record?.body.chunks ?? []) : item.kind === 'trailer' && prefix === '' ? item.trailer.tail.chunks : [];
    for (const c of chunks) {
      const hex = c.brick.toString('hex');
      keys.add(`bricks/${hex.slice(0, 2)}/${hex}`);
    }
  }
  return keys;
}

interface ThawJson {
  bricks: number;
  bytes: number;
  states: Record<'readable' | 'restored' | 'restoring' | 'archived' | 'missing', { bricks: number; bytes: number }>;
  allReadable: boolean;
  readableUntil: string | null;
  toRequest?: { bricks: number; bytes: number };
  requests?: { started: number; inProgress: number; notArchived: number } | null;
  estimate?: { total: number; currency: string; classes: { storageClass: string; bricks: number; requests: number }[] };
  waitedSeconds?: number;
}

describe('Glacier thaw, end to end', () => {
  let server: S3TestServer;
  let s: S3Store;
  let tar: string;
  let index: string;
  let all: Set<string>;
  let underB: Set<string>;

  before(async () => {
    server = await startS3TestServer();
    s = await s3Store(server, 'thaw');
    await initStore(s, ['--brick-size', '1M']);
    // Two directories of random data, a few bricks each, and a hard link from c/ into a/.
    tar = await randomTar(s.dir, { a: [700_000, 900_000, 1_100_000, 600_000], b: [800_000, 1_000_000, 700_000, 900_000] });
    index = join(s.dir, 'home.index.tar');
    const summary = await ingest(s, tar, index, ['--storage-class', 'GLACIER']);
    assert.ok(summary.bricks >= 3, `several bricks (${summary.bricks})`);
    const auth = await indexAuth(s.backend(), s.env.DTAR_PASSWORD!);
    all = await bricksUnder(index, '', auth);
    underB = await bricksUnder(index, 'b/', auth);
    assert.ok(underB.size > 0 && underB.size < all.size, `b/ needs some of the bricks (${underB.size} of ${all.size})`);
  });
  after(async () => {
    await server.stop();
    await s.cleanup();
  });

  it('ingest puts bricks in GLACIER and config, keys, catalogue and indexes in STANDARD', async () => {
    const be = s.backend();
    try {
      const seen = new Set<string>();
      for await (const o of be.list('')) {
        const top = o.key.split('/')[0]!;
        seen.add(top);
        const info = await be.stat(o.key); // HEAD, as a reader would
        assert.equal(info?.storageClass, top === 'bricks' ? 'GLACIER' : 'STANDARD', o.key);
      }
      assert.deepEqual([...seen].sort(), ['bricks', 'catalogue', 'config', 'indexes', 'keys']);
    } finally {
      await be.close();
    }
  });

  it('restore refuses at once with the count and the thaw command, exit 4', async () => {
    const r = await s.dtar(['restore', index, '-o', join(s.dir, 'out.tar')]);
    assert.equal(r.code, 4, r.stderr);
    const want = `dtar: ${all.size} bricks needed here are archived in Glacier and not yet thawed; run: dtar thaw --store ${s.url} --s3-endpoint ${server.endpoint} ${index}\n`;
    assert.equal(r.stderr, want);
    assert.doesNotMatch(r.stderr, /403|InvalidObjectState/);
  });

  it('--dry-run prints the plan and cost and sends no restore request', async () => {
    server.clearRequests();
    const r = ok(await s.dtar(['thaw', '--dry-run', '--json', index, 'b']), 'thaw --dry-run');
    const j = JSON.parse(r.stdout.toString()) as ThawJson;
    assert.equal(j.bricks, underB.size);
    assert.equal(j.toRequest?.bricks, underB.size);
    assert.equal(j.requests, null);
    assert.ok(j.estimate && j.estimate.total > 0 && j.estimate.currency === 'USD');
    assert.deepEqual(j.estimate.classes.map((c) => [c.storageClass, c.requests]), [['GLACIER', underB.size]]);
    assert.equal(server.count('RestoreObject'), 0);
    const text = ok(await s.dtar(['thaw', '--dry-run', index, 'b/']), 'thaw --dry-run').stdout.toString();
    assert.match(text, /^thaw plan \(dry run, nothing sent\) for b\/ in /);
    assert.match(text, new RegExp(`to restore: ${underB.size} bricks, .*, ${underB.size} RestoreObject requests, Standard tier, kept 7 days`));
    assert.match(text, /estimated cost \d+\.\d+ USD, ready in 3-5 hours \(prices: AWS us-east-1/);
    assert.equal(server.count('RestoreObject'), 0);
  });

  it('thaws one directory: exactly its bricks are requested, once', async () => {
    server.clearRequests();
    const r = ok(await s.dtar(['thaw', '--json', '--days', '2', index, 'b']), 'thaw b');
    const j = JSON.parse(r.stdout.toString()) as ThawJson;
    assert.deepEqual(j.requests, { started: underB.size, inProgress: 0, notArchived: 0 });
    const requested = server.requests.filter((q) => q.op === 'RestoreObject').map((q) => q.key.slice(s.prefix.length));
    assert.deepEqual(new Set(requested), underB);
    assert.equal(requested.length, underB.size, 'one request per brick');
    // A second thaw skips what is being restored.
    server.clearRequests();
    const again = JSON.parse(ok(await s.dtar(['thaw', '--json', index, 'b']), 'thaw again').stdout.toString()) as ThawJson;
    assert.equal(again.states.restoring.bricks, underB.size);
    assert.equal(again.toRequest?.bricks, 0);
    assert.equal(server.count('RestoreObject'), 0);
  });

  it('--status reports restoring, --wait polls until readable', async () => {
    const st = JSON.parse(ok(await s.dtar(['thaw', '--status', '--json', index, 'b']), 'status').stdout.toString()) as ThawJson;
    assert.equal(st.states.restoring.bricks, underB.size);
    assert.equal(st.states.restored.bricks, 0);
    const text = ok(await s.dtar(['thaw', '--status', index, 'b']), 'status').stdout.toString();
    assert.match(text, new RegExp(`restore in progress: +${underB.size} \\(`));
    // --wait has seen every brick still restoring before the restores complete.
    const polled = server.reportedOngoing(underB.size);
    const waiting = s.dtar(['thaw', '--status', '--wait', '--poll-interval', '50ms', '--json', index, 'b']);
    await polled;
    const completing = Date.now();
    assert.equal(server.completeRestores(), underB.size);
    const w = JSON.parse(ok(await waiting, 'wait').stdout.toString()) as ThawJson;
    assert.equal(w.allReadable, true);
    assert.equal(w.states.restored.bricks, underB.size);
    // Thawed with --days 2: readable until two days after the restores completed (to the second).
    assert.ok(w.readableUntil !== null && Date.parse(w.readableUntil) >= completing - (completing % 1000) + 2 * 86_400_000, `readable for 2 days: ${w.readableUntil}`);
    const after = ok(await s.dtar(['thaw', '--status', index, 'b']), 'status').stdout.toString();
    assert.match(after, new RegExp(`restored: +${underB.size} \\(.*\\), readable until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\n`));
  });

  it('cat reads a file of the thawed directory and refuses one outside it', async () => {
    const inside = ok(await s.dtar(['cat', index, 'b/f1']), 'cat b/f1').stdout;
    assert.ok(inside.equals(await readFile(join(randomTarSource(s.dir), 'b', 'f1'))));
    const outside = await s.dtar(['cat', index, 'a/f2']);
    assert.equal(outside.code, 4, outside.stderr);
    assert.match(outside.stderr, /^dtar: \d+ bricks? needed here (is|are) archived in Glacier and not yet thawed; run: dtar thaw .* a\/f2\n$/);
  });

  it('extract gives back the thawed directory and refuses the rest', async () => {
    const out = join(s.dir, 'extracted');
    ok(await s.dtar(['extract', index, 'b', '-C', out, '--quiet']), 'extract b');
    for (const f of ['f0', 'f1', 'f2', 'f3']) assert.ok((await readFile(join(out, 'b', f))).equals(await readFile(join(randomTarSource(s.dir), 'b', f))), `b/${f}`);
    const r = await s.dtar(['extract', index, 'a', '-C', out, '--quiet']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /^dtar: \d+ bricks? needed here (is|are) archived in Glacier and not yet thawed; run: dtar thaw .* a\n$/);
  });

  it('restore of the whole archive still refuses, counting only the bricks not thawed', async () => {
    const r = await s.dtar(['restore', index, '-o', join(s.dir, 'out.tar')]);
    assert.equal(r.code, 4, r.stderr);
    const left = [...all].filter((k) => !underB.has(k)).length;
    assert.match(r.stderr, new RegExp(`^dtar: ${left} bricks? needed here (is|are) archived in Glacier and not yet thawed; run: dtar thaw .*${index}\\n$`));
  });

  it('a full thaw with --wait, then restore gives the tar back byte for byte', async () => {
    server.clearRequests();
    const rest = all.size - underB.size;
    const polled = server.reportedOngoing(rest);
    const waiting = s.dtar(['thaw', '--wait', '--poll-interval', '50ms', '--json', index]);
    await polled;
    assert.equal(server.completeRestores(), rest);
    const j = JSON.parse(ok(await waiting, 'thaw --wait').stdout.toString()) as ThawJson;
    assert.equal(j.allReadable, true);
    assert.equal(server.count('RestoreObject'), all.size - underB.size, 'the thawed directory is not requested again');
    const back = ok(await s.dtar(['restore', index]), 'restore').stdout;
    assert.ok(back.equals(await readFile(tar)), 'restored bytes are identical');
  });
});

describe('Glacier thaw: waiting that cannot end, and tiers', () => {
  let server: S3TestServer;
  let s: S3Store;
  let index: string;

  before(async () => {
    server = await startS3TestServer();
    s = await s3Store(server, 'thaw-slow');
    await initStore(s, ['--brick-size', '1M']);
    const tar = await randomTar(s.dir, { d: [300_000] });
    index = join(s.dir, 'd.index.tar');
    await ingest(s, tar, index, ['--storage-class', 'DEEP_ARCHIVE']);
  });
  after(async () => {
    await server.stop();
    await s.cleanup();
  });

  it('--status --wait with nothing requested says to thaw, exit 4', async () => {
    const r = await s.dtar(['thaw', '--status', '--wait', '--poll-interval', '20ms', index]);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /^dtar: 1 brick needed here is archived in Glacier and not yet thawed; run: dtar thaw /);
  });

  it('refuses a tier the class does not offer before sending anything', async () => {
    server.clearRequests();
    const r = await s.dtar(['thaw', '--tier', 'expedited', index]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /the Expedited tier is not offered for DEEP_ARCHIVE; use --tier Standard or Bulk/);
    assert.equal(server.count('RestoreObject'), 0);
  });

  it('--wait gives up after --wait-timeout, exit 4', async () => {
    const r = await s.dtar(['thaw', '--tier', 'Bulk', '--wait', '--poll-interval', '50ms', '--wait-timeout', '300ms', index]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stdout.toString(), /DEEP_ARCHIVE: 1 bricks, about .* ready in up to 48 hours/);
    assert.match(r.stderr, /gave up waiting after \d+ s: 1 of 1 bricks are still being restored/);
    const restore = await s.dtar(['restore', index, '-o', join(s.dir, 'out.tar')]);
    assert.equal(restore.code, 4);
    assert.match(restore.stderr, /^dtar: 1 brick needed here is still being thawed from Glacier; wait with: dtar thaw --status --wait /);
  });
});
