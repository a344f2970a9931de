/**
 * Thaw estimates: the arithmetic, refusing a tier a class does not offer; and the refusal's suggested command line, quoted for a shell.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/errors';
import { DEFAULT_PRICES, formatCost } from '../../src/pricing/prices';
import { estimate, estimateThaw, formatWait } from '../../src/thaw/estimate';
import { notThawedMessage, thawCommandLine } from '../../src/thaw/refusal';

const GB = 1024 ** 3;

describe('thaw prices', () => {
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
