/**
 * Keep policies with restic's semantics, on archives whose times the test sets (the policy
 * has no clock of its own: --keep-within counts back from the newest archive of the name).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPolicy, KeepPolicy } from '../../src/retention/policy';

const H = 3_600_000;
const D = 24 * H;

/** An archive named `name` at `iso`. */
const at = (iso: string, name = 'home'): { name: string; created: number; iso: string } => ({ name, created: Date.parse(iso), iso });

function kept(archives: ReturnType<typeof at>[], policy: KeepPolicy): string[] {
  return applyPolicy(archives, policy)
    .filter((d) => d.keep)
    .map((d) => `${d.archive.iso} ${d.reasons.join('+')}`);
}

/** One archive a day at 03:00 UTC, from `first` for `n` days. */
function daily(first: string, n: number, name = 'home'): ReturnType<typeof at>[] {
  const t0 = Date.parse(first);
  return Array.from({ length: n }, (_, i) => at(new Date(t0 + i * D).toISOString(), name));
}

describe('keep policy', () => {
  it('keep-last keeps the newest N, in any input order', () => {
    const xs = [at('2026-01-02T00:00:00.000Z'), at('2026-01-04T00:00:00.000Z'), at('2026-01-01T00:00:00.000Z'), at('2026-01-03T00:00:00.000Z')];
    assert.deepEqual(kept(xs, { last: 2 }), ['2026-01-04T00:00:00.000Z last', '2026-01-03T00:00:00.000Z last']);
  });

  it('keep-daily keeps the newest archive of each of the last N days that have one', () => {
    const xs = [at('2026-03-01T01:00:00.000Z'), at('2026-03-01T23:00:00.000Z'), at('2026-03-03T05:00:00.000Z'), at('2026-03-05T05:00:00.000Z'), at('2026-03-05T06:00:00.000Z')];
    // Days with archives: 5, 3, 1 (the 2nd and 4th have none and use no count).
    assert.deepEqual(kept(xs, { daily: 3 }), ['2026-03-05T06:00:00.000Z daily', '2026-03-03T05:00:00.000Z daily', '2026-03-01T23:00:00.000Z daily']);
    assert.deepEqual(kept(xs, { daily: 2 }), ['2026-03-05T06:00:00.000Z daily', '2026-03-03T05:00:00.000Z daily']);
  });

  it('keep-hourly counts hours', () => {
    const xs = [at('2026-03-01T10:05:00.000Z'), at('2026-03-01T10:55:00.000Z'), at('2026-03-01T11:10:00.000Z')];
    assert.deepEqual(kept(xs, { hourly: 5 }), ['2026-03-01T11:10:00.000Z hourly', '2026-03-01T10:55:00.000Z hourly']);
  });

  it('weeks are ISO weeks (Monday to Sunday), the year of a week is its Thursday', () => {
    // 2026-12-31 is a Thursday: 2026-W53 runs Mon 28 Dec to Sun 3 Jan 2027.
    const xs = [at('2026-12-27T12:00:00.000Z'), at('2026-12-28T12:00:00.000Z'), at('2027-01-03T12:00:00.000Z'), at('2027-01-04T12:00:00.000Z')];
    assert.deepEqual(kept(xs, { weekly: 3 }), ['2027-01-04T12:00:00.000Z weekly', '2027-01-03T12:00:00.000Z weekly', '2026-12-27T12:00:00.000Z weekly']);
  });

  it('the documented example: 7 daily, 4 weekly, 12 monthly over 400 nightly backups', () => {
    const xs = daily('2025-11-01T03:00:00.000Z', 400); // to 2026-12-05
    const k = kept(xs, { daily: 7, weekly: 4, monthly: 12 });
    assert.deepEqual(k, [
      '2026-12-05T03:00:00.000Z daily+weekly+monthly',
      '2026-12-04T03:00:00.000Z daily',
      '2026-12-03T03:00:00.000Z daily',
      '2026-12-02T03:00:00.000Z daily',
      '2026-12-01T03:00:00.000Z daily',
      '2026-11-30T03:00:00.000Z daily+monthly',
      '2026-11-29T03:00:00.000Z daily+weekly',
      '2026-11-22T03:00:00.000Z weekly',
      '2026-11-15T03:00:00.000Z weekly',
      '2026-10-31T03:00:00.000Z monthly',
      '2026-09-30T03:00:00.000Z monthly',
      '2026-08-31T03:00:00.000Z monthly',
      '2026-07-31T03:00:00.000Z monthly',
      '2026-06-30T03:00:00.000Z monthly',
      '2026-05-31T03:00:00.000Z monthly',
      '2026-04-30T03:00:00.000Z monthly',
      '2026-03-31T03:00:00.000Z monthly',
      '2026-02-28T03:00:00.000Z monthly',
      '2026-01-31T03:00:00.000Z monthly',
    ]); // 12 months: December 2026 back to January 2026

  });

  it('keep-yearly', () => {
    const xs = [at('2024-06-01T00:00:00.000Z'), at('2024-12-31T23:59:59.000Z'), at('2025-01-01T00:00:00.000Z'), at('2026-02-01T00:00:00.000Z')];
    assert.deepEqual(kept(xs, { yearly: 2 }), ['2026-02-01T00:00:00.000Z yearly', '2025-01-01T00:00:00.000Z yearly']);
  });

  it('keep-within counts back by the calendar from the newest archive of the name, not from now', () => {
    const xs = [at('2026-03-31T12:00:00.000Z'), at('2026-03-03T12:30:00.000Z'), at('2026-03-03T12:00:00.000Z'), at('2026-02-01T00:00:00.000Z')];
    // One month back from 31 March 12:00 is 3 March 12:00 (as Go's AddDate, which restic uses): strictly after it.
    assert.deepEqual(kept(xs, { within: { years: 0, months: 1, days: 0, hours: 0 } }), ['2026-03-31T12:00:00.000Z within', '2026-03-03T12:30:00.000Z within']);
    assert.deepEqual(kept(xs, { within: { years: 0, months: 0, days: 0, hours: 25 } }), ['2026-03-31T12:00:00.000Z within']);
  });

  it('applies to each name on its own and names every rule that keeps an archive', () => {
    const xs = [...daily('2026-01-01T03:00:00.000Z', 3, 'home'), ...daily('2026-01-01T04:00:00.000Z', 2, 'srv')];
    const d = applyPolicy(xs, { last: 1, daily: 2 });
    assert.deepEqual(
      d.map((x) => `${x.archive.name} ${x.archive.iso} ${x.keep ? 'keep' : 'drop'} ${x.reasons.join('+')}`),
      [
        'home 2026-01-03T03:00:00.000Z keep last+daily',
        'home 2026-01-02T03:00:00.000Z keep daily',
        'home 2026-01-01T03:00:00.000Z drop ',
        'srv 2026-01-02T04:00:00.000Z keep last+daily',
        'srv 2026-01-01T04:00:00.000Z keep daily',
      ],
    );
  });

  it('dropping what a policy drops and applying it again keeps the same archives (an interrupted forget finishes)', () => {
    const xs = daily('2025-06-01T03:00:00.000Z', 200);
    const policy: KeepPolicy = { last: 3, daily: 5, weekly: 4, monthly: 6, within: { years: 0, months: 0, days: 10, hours: 0 } };
    const first = applyPolicy(xs, policy);
    const keptOnce = first.filter((d) => d.keep).map((d) => d.archive);
    // Any part of the drops done: the rest of the plan is the same.
    const half = first.filter((d) => !d.keep).slice(0, 40).map((d) => d.archive);
    const left = xs.filter((x) => !half.includes(x));
    assert.deepEqual(applyPolicy(left, policy).filter((d) => d.keep).map((d) => d.archive), keptOnce);
    assert.deepEqual(applyPolicy(keptOnce, policy).filter((d) => d.keep).map((d) => d.archive), keptOnce);
  });
});
