/**
 * Keep policies, with restic's semantics (`restic forget`): archives are grouped by name and
 * sorted newest first; --keep-last N keeps the N newest; --keep-hourly/-daily/-weekly/-monthly/
 * -yearly N keep the newest archive of each of the N newest hours, days, ISO weeks, months or
 * years that have one; --keep-within D keeps every archive less than D older than the group's
 * newest archive (not than now: a store that stopped receiving backups keeps its last ones).
 * An archive is kept when any rule keeps it, and every rule that does is named. Periods are
 * taken in UTC.
 */

export interface KeepPolicy {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  within?: Span;
}

/** A calendar span, as restic's --keep-within takes it ("1y6m", "14d", "36h"). */
export interface Span {
  years: number;
  months: number;
  days: number;
  hours: number;
}

/** `t` moved back by `s`, by the calendar (a month back from 31 March is 3 March, as Go's AddDate). */
function before(t: number, s: Span): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear() - s.years, d.getUTCMonth() - s.months, d.getUTCDate() - s.days, d.getUTCHours() - s.hours, d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}

export type KeepRule = 'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly' | 'within';

export interface Dated {
  name: string;
  /** Milliseconds since the epoch. */
  created: number;
}

export interface Decision<T> {
  archive: T;
  keep: boolean;
  /** The rules that keep it (empty when dropped). */
  reasons: KeepRule[];
}

export function isEmptyPolicy(p: KeepPolicy): boolean {
  return Object.values(p).every((v) => v === undefined);
}

/** The ISO 8601 week-numbering year and week of a time, as one number (2026-W01 -> 202601). */
function isoWeek(t: number): number {
  const d = new Date(t);
  const day = (d.getUTCDay() + 6) % 7; // Monday 0
  // The Thursday of this week decides its year.
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3);
  const year = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * 86_400_000));
  return year * 100 + week;
}

const BUCKETS: readonly { rule: Exclude<KeepRule, 'last' | 'within'>; of: (t: number) => number }[] = [
  { rule: 'hourly', of: (t) => Math.floor(t / 3_600_000) },
  { rule: 'daily', of: (t) => Math.floor(t / 86_400_000) },
  { rule: 'weekly', of: isoWeek },
  { rule: 'monthly', of: (t) => new Date(t).getUTCFullYear() * 12 + new Date(t).getUTCMonth() },
  { rule: 'yearly', of: (t) => new Date(t).getUTCFullYear() },
];

/** One name's archives, in any order: which to keep and why. */
function applyToGroup<T extends Dated>(group: readonly T[], policy: KeepPolicy): Decision<T>[] {
  const sorted = [...group].sort((a, b) => b.created - a.created);
  const cutoff = policy.within && sorted[0] ? before(sorted[0].created, policy.within) : Infinity;
  let lastLeft = policy.last ?? 0;
  const buckets = BUCKETS.map((b) => ({ ...b, left: policy[b.rule] ?? 0, seen: NaN }));
  return sorted.map((archive) => {
    const reasons: KeepRule[] = [];
    if (lastLeft > 0) {
      lastLeft--;
      reasons.push('last');
    }
    for (const b of buckets) {
      if (b.left <= 0) continue;
      const bucket = b.of(archive.created);
      // Newest first: the first archive met in a period is the one kept for it.
      if (bucket !== b.seen) {
        b.seen = bucket;
        b.left--;
        reasons.push(b.rule);
      }
    }
    if (archive.created > cutoff) reasons.push('within');
    return { archive, keep: reasons.length > 0, reasons };
  });
}

/** The decisions for every archive, grouped by name (names in order of first appearance). */
export function applyPolicy<T extends Dated>(archives: readonly T[], policy: KeepPolicy): Decision<T>[] {
  const groups = new Map<string, T[]>();
  for (const a of archives) {
    const g = groups.get(a.name);
    if (g) g.push(a);
    else groups.set(a.name, [a]);
  }
  return [...groups.values()].flatMap((g) => applyToGroup(g, policy));
}
