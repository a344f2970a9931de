/**
 * What a thaw costs and how long it takes: the estimate for a set of bricks, from the one
 * price table (src/pricing/prices.ts).
 */
import { UsageError } from '../errors';
import { GB, MONTH_DAYS, PriceTable } from '../pricing/prices';
import type { RestoreTier, StorageClass } from '../store/backend';

/** The estimate for the bricks of one storage class. */
export interface ClassEstimate {
  storageClass: StorageClass;
  bricks: number;
  bytes: number;
  requests: number;
  retrievalCost: number;
  requestCost: number;
  /** The restored copies kept for `days`. */
  copyCost: number;
  total: number;
  waitHours: [number, number];
}

/** Throws UsageError when the tier is not offered for the class (Expedited on Deep Archive). */
export function estimate(prices: PriceTable, storageClass: StorageClass, tier: RestoreTier, bricks: number, bytes: number, days: number): ClassEstimate {
  const p = prices.classes[storageClass].restore[tier];
  if (!p) {
    const offered = Object.keys(prices.classes[storageClass].restore);
    throw new UsageError(`the ${tier} tier is not offered for ${storageClass}${offered.length ? `; use --tier ${offered.join(' or ')}` : ''}`);
  }
  const gb = bytes / GB;
  const retrievalCost = gb * p.perGB;
  const requestCost = (bricks / 1000) * p.per1000Requests;
  const copyCost = gb * prices.copyPerGBMonth * (days / MONTH_DAYS);
  return {
    storageClass,
    bricks,
    bytes,
    requests: bricks,
    retrievalCost,
    requestCost,
    copyCost,
    total: retrievalCost + requestCost + copyCost,
    waitHours: p.waitHours,
  };
}

/** "1-5 minutes", "3-5 hours", "up to 12 hours". */
export function formatWait([least, most]: [number, number]): string {
  const unit = most < 1 ? { n: 60, name: 'minutes' } : { n: 1, name: 'hours' };
  const fmt = (h: number): string => String(Math.round(h * unit.n * 10) / 10);
  return least === 0 ? `up to ${fmt(most)} ${unit.name}` : `${fmt(least)}-${fmt(most)} ${unit.name}`;
}

/** The estimate for a whole thaw: per class, summed, and the longest wait among them. */
export interface ThawEstimate {
  currency: string;
  source: string;
  classes: ClassEstimate[];
  total: number;
  waitHours: [number, number];
}

export function estimateThaw(
  prices: PriceTable,
  tier: RestoreTier,
  days: number,
  bricks: readonly { storageClass?: StorageClass; size: number }[],
): ThawEstimate {
  const byClass = new Map<StorageClass, { bricks: number; bytes: number }>();
  for (const b of bricks) {
    if (b.storageClass === undefined) continue;
    const c = byClass.get(b.storageClass) ?? { bricks: 0, bytes: 0 };
    c.bricks++;
    c.bytes += b.size;
    byClass.set(b.storageClass, c);
  }
  const classes = [...byClass].map(([cls, c]) => estimate(prices, cls, tier, c.bricks, c.bytes, days));
  const waits = classes.map((c) => c.waitHours);
  return {
    currency: prices.currency,
    source: prices.source,
    classes,
    total: classes.reduce((n, c) => n + c.total, 0),
    waitHours: [Math.max(0, ...waits.map((w) => w[0])), Math.max(0, ...waits.map((w) => w[1]))],
  };
}
