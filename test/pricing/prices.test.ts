/**
 * The one price table: its override file (laid over the built-in table, any subset; the
 * older storage-only form still read), which file a command takes, and the early-deletion
 * charge of the minimum storage durations.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UsageError } from '../../src/errors';
import { DEFAULT_PRICES, earlyDeletionCharge, GB, loadPrices, monthlyCost, pricesFor } from '../../src/pricing/prices';
import { makeTempDir, type TempDir } from '../support/tmp';

describe('price table', () => {
  let tmp: TempDir;
  before(async () => {
    tmp = await makeTempDir('prices');
  });
  after(() => tmp.cleanup());

  it('holds the minimum storage durations of the cold classes', () => {
    const days = Object.fromEntries(Object.entries(DEFAULT_PRICES.classes).map(([c, p]) => [c, p.minimumDays]));
    assert.deepEqual(days, { STANDARD: 0, STANDARD_IA: 30, INTELLIGENT_TIERING: 0, GLACIER_IR: 90, GLACIER: 90, DEEP_ARCHIVE: 180 });
  });

  it('charges the days left of the minimum duration, and nothing after it', () => {
    const month = monthlyCost(100 * GB, 'DEEP_ARCHIVE', DEFAULT_PRICES);
    assert.ok(Math.abs(month - 0.099) < 1e-12);
    assert.ok(Math.abs(earlyDeletionCharge(100 * GB, 'DEEP_ARCHIVE', 60, DEFAULT_PRICES) - month * 4) < 1e-12, '120 days left: 4 months');
    assert.equal(earlyDeletionCharge(100 * GB, 'DEEP_ARCHIVE', 180, DEFAULT_PRICES), 0);
    assert.equal(earlyDeletionCharge(100 * GB, 'STANDARD', 0, DEFAULT_PRICES), 0);
  });

  it('lays an override file over the built-in table', async () => {
    const file = join(tmp.path, 'eu.json');
    await writeFile(file, JSON.stringify({ currency: 'EUR', classes: { GLACIER: { storagePerGBMonth: 0.004, minimumDays: 91, Standard: { perGB: 0.02 }, Expedited: null } } }));
    const p = loadPrices(file);
    assert.equal(p.currency, 'EUR');
    assert.equal(p.source, file);
    assert.equal(p.classes.GLACIER.storagePerGBMonth, 0.004);
    assert.equal(p.classes.GLACIER.minimumDays, 91);
    assert.equal(p.classes.GLACIER.putPer1000, DEFAULT_PRICES.classes.GLACIER.putPer1000);
    assert.deepEqual(p.classes.GLACIER.restore.Standard, { perGB: 0.02, per1000Requests: 0.05, waitHours: [3, 5] });
    assert.equal(p.classes.GLACIER.restore.Expedited, undefined, 'null removes a tier');
    assert.deepEqual(p.classes.DEEP_ARCHIVE, DEFAULT_PRICES.classes.DEEP_ARCHIVE);
    assert.equal(DEFAULT_PRICES.classes.GLACIER.restore.Standard?.perGB, 0.01, 'the built-in table is untouched');
    assert.equal(loadPrices(undefined), DEFAULT_PRICES);
  });

  it('still reads the storage-only files of older dtars', async () => {
    const file = join(tmp.path, 'old.json');
    await writeFile(file, JSON.stringify({ STANDARD: 0.021, DEEP_ARCHIVE: 1 }));
    const p = loadPrices(file);
    assert.equal(p.classes.STANDARD.storagePerGBMonth, 0.021);
    assert.equal(p.classes.DEEP_ARCHIVE.storagePerGBMonth, 1);
    assert.equal(p.classes.DEEP_ARCHIVE.minimumDays, 180);
  });

  it('takes --prices, else $DTAR_PRICES, else the older $DTAR_THAW_PRICES with a warning', async () => {
    const a = join(tmp.path, 'a.json');
    const b = join(tmp.path, 'b.json');
    await writeFile(a, JSON.stringify({ currency: 'A' }));
    await writeFile(b, JSON.stringify({ currency: 'B' }));
    const warned: string[] = [];
    const warn = (l: string): number => warned.push(l);
    assert.equal(pricesFor(a, { DTAR_PRICES: b }, warn).currency, 'A');
    assert.equal(pricesFor(undefined, { DTAR_PRICES: b, DTAR_THAW_PRICES: a }, warn).currency, 'B');
    assert.deepEqual(warned, []);
    assert.equal(pricesFor(undefined, { DTAR_THAW_PRICES: a }, warn).currency, 'A');
    assert.deepEqual(warned, ['$DTAR_THAW_PRICES is read for now; name the price file in $DTAR_PRICES instead']);
    assert.equal(pricesFor(undefined, {}, warn), DEFAULT_PRICES);
  });

  it('refuses a malformed override with UsageError naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ classes: { GLACIER: { Standard: { perGB: -1 } } } }, /classes\.GLACIER\.Standard\.perGB/],
      [{ classes: { STANDARD: { Standard: {} } } }, /only GLACIER and DEEP_ARCHIVE/],
      [{ classes: { GLACIER: { Fast: {} } } }, /classes\.GLACIER\.Fast: unknown field/],
      [{ classes: { COLD: {} } }, /unknown storage class COLD/],
      [{ classes: { STANDARD: { minimumDays: 'x' } } }, /classes\.STANDARD\.minimumDays: expected a number/],
      [{ price: 'x' }, /unknown field price/],
      [{ CHEAP: 1 }, /: unknown storage class CHEAP; one of STANDARD, /],
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
});
