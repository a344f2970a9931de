/**
 * The thaw price table and estimates: the arithmetic, the override file, refusing a tier a
 * class does not offer; and the refusal's suggested command line, quoted for a shell.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UsageError } from '../../src/errors';
import { DEFAULT_PRICES, estimate, estimateThaw, formatCost, formatWait, loadPrices } from '../../src/thaw/prices';
import { notThawedMessage, thawCommandLine } from '../../src/thaw/refusal';
import { makeTempDir, type TempDir } from '../support/tmp';

const GB = 1024 ** 3;

describe('thaw prices', () => {
  let tmp: TempDir;
  before(async () => {
    tmp = await makeTempDir('prices');
  });
  after(() => tmp.cleanup());

  it('estimates retrieval, requests and the restored copy per class', () => {
    const e = estimate(DEFAULT_PRICES, 'GLACIER', 'Standard', 1000, 100 * GB, 30);
    assert.ok(Math.abs(e.retrievalCost - 1.0) < 1e-9, '100 GB at 0.01');
    assert.ok(Math.abs(e.requestCost - 0.05) < 1e-9, '1000 requests at 0.05 per 1000');
    assert.ok(Math.abs(e.copyCost - 2.3) < 1e-9, '100 GB kept a month at 0.023');
    assert.ok(Math.abs(e.total - 3.35) < 1e-9);
    assert.deepEqual(e.waitHours, [3, 5]);
    const deep = estimate(DEFAULT_PRICES, 'DEEP_ARCHIVE', 'Bulk', 10, GB, 1);
    assert.ok(Math.abs(deep.retrievalCost - 0.0025) < 1e-12);
  });

  it('sums classes and takes the slowest wait', () => {
    const t = estimateThaw(DEFAULT_PRICES, 'Standard', 7, [
      { storageClass: 'GLACIER', size: GB },
      { storageClass: 'DEEP_ARCHIVE', size: GB },
      { storageClass: 'DEEP_ARCHIVE', size: GB },
    ]);
    assert.deepEqual(t.classes.map((c) => [c.storageClass, c.bricks]), [['GLACIER', 1], ['DEEP_ARCHIVE', 2]]);
    assert.deepEqual(t.waitHours, [3, 12]);
    assert.ok(Math.abs(t.total - t.classes.reduce((n, c) => n + c.total, 0)) < 1e-12);
  });

  it('refuses Expedited for Deep Archive, naming the tiers that are offered', () => {
    assert.throws(() => estimate(DEFAULT_PRICES, 'DEEP_ARCHIVE', 'Expedited', 1, 1, 1), (e: unknown) => e instanceof UsageError && /use --tier Standard or Bulk/.test(e.message));
  });

  it('lays an override file over the built-in table', async () => {
    const file = join(tmp.path, 'eu.json');
    await writeFile(file, JSON.stringify({ currency: 'EUR', classes: { GLACIER: { Standard: { perGB: 0.02 }, Expedited: null } } }));
    const p = loadPrices(file);
    assert.equal(p.currency, 'EUR');
    assert.equal(p.source, file);
    assert.deepEqual(p.classes.GLACIER?.Standard, { perGB: 0.02, per1000Requests: 0.05, waitHours: [3, 5] });
    assert.equal(p.classes.GLACIER?.Expedited, undefined, 'null removes a tier');
    assert.deepEqual(p.classes.DEEP_ARCHIVE, DEFAULT_PRICES.classes.DEEP_ARCHIVE);
    assert.equal(DEFAULT_PRICES.classes.GLACIER?.Standard?.perGB, 0.01, 'the built-in table is untouched');
    assert.equal(loadPrices(undefined), DEFAULT_PRICES);
  });

  it('refuses a malformed override with UsageError naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ classes: { GLACIER: { Standard: { perGB: -1 } } } }, /classes\.GLACIER\.Standard\.perGB/],
      [{ classes: { STANDARD: {} } }, /only GLACIER and DEEP_ARCHIVE/],
      [{ classes: { GLACIER: { Fast: {} } } }, /not a tier/],
      [{ price: 1 }, /unknown field price/],
      [{ classes: { DEEP_ARCHIVE: { Expedited: { perGB: 1 } } } }, /a new tier needs/],
    ];
    for (const [content, re] of cases) {
      const file = join(tmp.path, 'bad.json');
      await writeFile(file, JSON.stringify(content));
      assert.throws(() => loadPrices(file), (e: unknown) => e instanceof UsageError && re.test(e.message), JSON.stringify(content));
    }
    await writeFile(join(tmp.path, 'broken.json'), '{');
    assert.throws(() => loadPrices(join(tmp.path, 'broken.json')), UsageError);
    assert.throws(() => loadPrices(join(tmp.path, 'absent.json')), UsageError);
  });

  it('formats waits and small amounts readably', () => {
    assert.equal(formatWait([1 / 60, 5 / 60]), '1-5 minutes');
    assert.equal(formatWait([3, 5]), '3-5 hours');
    assert.equal(formatWait([0, 48]), 'up to 48 hours');
    assert.equal(formatCost(0, 'USD'), '0.00 USD');
    assert.equal(formatCost(0.00021, 'USD'), '0.0002 USD');
    assert.equal(formatCost(12.345, 'EUR'), '12.35 EUR');
  });
});

describe('the not-thawed refusal', () => {
  it('names the count and a command line a shell takes as is', () => {
    const hint = { index: 'my backup.idx', paths: ["it's/here"], store: { store: 's3://b/p', s3Endpoint: 'http://127.0.0.1:9000', s3PathStyle: true } };
    assert.equal(thawCommandLine(hint), `dtar thaw --store s3://b/p --s3-endpoint http://127.0.0.1:9000 --s3-path-style 'my backup.idx' 'it'\\''s/here'`);
    assert.equal(
      notThawedMessage(3, 2, { index: 'i.idx', paths: [] }),
      '3 bricks needed here are archived in Glacier and not yet thawed (2 more being restored); run: dtar thaw i.idx',
    );
    assert.equal(notThawedMessage(0, 1, { index: 'i.idx', paths: ['a'] }), '1 brick needed here is still being thawed from Glacier; wait with: dtar thaw --status --wait i.idx a');
  });
});
