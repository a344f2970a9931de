/**
 * What a thaw costs and how long it takes: the one price table (per storage class and
 * retrieval tier), its override from a JSON file, and the estimate for a set of bricks.
 *
 * Built-in figures: AWS S3, region us-east-1, in USD, compiled 2026-11 from
 *   https://aws.amazon.com/s3/pricing/ ("Requests & data retrievals"; "Storage" for the
 *   temporary copy), and for waits from
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/restoring-objects-retrieval-options.html
 *   (Flexible Retrieval: Expedited 1-5 min for objects under 250 MB, Standard 3-5 h,
 *   Bulk 5-12 h; Deep Archive: Standard within 12 h, Bulk within 48 h; Expedited is not
 *   offered for Deep Archive). AWS bills per GB of 2^30 bytes, per 1,000 requests, and
 *   keeps the restored copy at the S3 Standard storage rate for the days asked for, on top
 *   of the archived object. Other regions and providers differ: override with a file
 *   (docs/S3.md, "Thaw prices").
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors';
import type { RestoreTier, StorageClass } from '../store/backend';

export const RESTORE_TIERS: readonly RestoreTier[] = ['Expedited', 'Standard', 'Bulk'];

export interface TierPrice {
  /** Retrieval fee per GB (2^30 bytes). */
  perGB: number;
  /** Fee per 1,000 RestoreObject requests. */
  per1000Requests: number;
  /** Typical time until the copy is readable, in hours: [at best, at worst]. */
  waitHours: [number, number];
}

export interface PriceTable {
  currency: string;
  /** Where the figures come from, shown with every estimate. */
  source: string;
  /** Storage of the temporary restored copy, per GB-month (30 days). */
  copyPerGBMonth: number;
  /** Per archive class, per tier; a missing tier is not offered for that class. */
  classes: Partial<Record<StorageClass, Partial<Record<RestoreTier, TierPrice>>>>;
}

export const DEFAULT_PRICES: PriceTable = {
  currency: 'USD',
  source: 'AWS us-east-1 list prices, 2026-11',
  copyPerGBMonth: 0.023,
  classes: {
    GLACIER: {
      Expedited: { perGB: 0.03, per1000Requests: 10.0, waitHours: [1 / 60, 5 / 60] },
      Standard: { perGB: 0.01, per1000Requests: 0.05, waitHours: [3, 5] },
      Bulk: { perGB: 0, per1000Requests: 0, waitHours: [5, 12] }, // free since 2021-11
    },
    DEEP_ARCHIVE: {
      Standard: { perGB: 0.02, per1000Requests: 0.1, waitHours: [0, 12] },
      Bulk: { perGB: 0.0025, per1000Requests: 0.025, waitHours: [0, 48] },
    },
  },
};

/** The environment variable naming a price file (the --prices flag wins over it). */
export const PRICES_ENV = 'DTAR_THAW_PRICES';

/**
 * The built-in table with a JSON file's fields laid over it: any subset of the table's
 * shape, e.g. {"currency":"EUR","classes":{"GLACIER":{"Standard":{"perGB":0.011}}}}.
 */
export function loadPrices(file: string | undefined): PriceTable {
  if (file === undefined || file === '') return DEFAULT_PRICES;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`price file ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return overlay(DEFAULT_PRICES, parsed, file);
  } catch (e) {
    throw new UsageError(`price file ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function overlay(base: PriceTable, over: unknown, file: string): PriceTable {
  const o = record(over, 'the file');
  const table: PriceTable = { ...base, source: file, classes: { ...base.classes } };
  for (const [k, v] of Object.entries(o)) {
    if (k === 'currency' || k === 'source') table[k] = text(v, k);
    else if (k === 'copyPerGBMonth') table.copyPerGBMonth = amount(v, k);
    else if (k === 'classes') {
      for (const [cls, tiers] of Object.entries(record(v, 'classes'))) {
        if (cls !== 'GLACIER' && cls !== 'DEEP_ARCHIVE') throw new Error(`classes.${cls}: only GLACIER and DEEP_ARCHIVE need a thaw`);
        const merged = { ...table.classes[cls] };
        for (const [tier, price] of Object.entries(record(tiers, `classes.${cls}`))) {
          const t = RESTORE_TIERS.find((x) => x === tier);
          if (!t) throw new Error(`classes.${cls}.${tier}: not a tier (${RESTORE_TIERS.join(', ')})`);
          if (price === null) delete merged[t]; // null: not offered
          else merged[t] = tierPrice(merged[t], price, `classes.${cls}.${tier}`);
        }
        table.classes[cls] = merged;
      }
    } else throw new Error(`unknown field ${k}`);
  }
  return table;
}

function tierPrice(base: TierPrice | undefined, over: unknown, where: string): TierPrice {
  const o = record(over, where);
  const perGB = o['perGB'] !== undefined ? amount(o['perGB'], `${where}.perGB`) : base?.perGB;
  const per1000Requests = o['per1000Requests'] !== undefined ? amount(o['per1000Requests'], `${where}.per1000Requests`) : base?.per1000Requests;
  let waitHours = base?.waitHours;
  if (o['waitHours'] !== undefined) {
    const w = o['waitHours'];
    if (!Array.isArray(w) || w.length !== 2) throw new Error(`${where}.waitHours: expected [least, most]`);
    waitHours = [amount(w[0], `${where}.waitHours`), amount(w[1], `${where}.waitHours`)];
  }
  for (const k of Object.keys(o)) if (!['perGB', 'per1000Requests', 'waitHours'].includes(k)) throw new Error(`${where}.${k}: unknown field`);
  if (perGB === undefined || per1000Requests === undefined || waitHours === undefined) {
    throw new Error(`${where}: a new tier needs perGB, per1000Requests and waitHours`);
  }
  return { perGB, per1000Requests, waitHours };
}

function record(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where}: expected an object`);
  return v as Record<string, unknown>;
}

function amount(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`${where}: expected a number >= 0`);
  return v;
}

function text(v: unknown, where: string): string {
  if (typeof v !== 'string') throw new Error(`${where}: expected a string`);
  return v;
}

const GB = 1024 ** 3;

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
  const p = prices.classes[storageClass]?.[tier];
  if (!p) {
    const offered = Object.keys(prices.classes[storageClass] ?? {});
    throw new UsageError(`the ${tier} tier is not offered for ${storageClass}${offered.length ? `; use --tier ${offered.join(' or ')}` : ''}`);
  }
  const gb = bytes / GB;
  const retrievalCost = gb * p.perGB;
  const requestCost = (bricks / 1000) * p.per1000Requests;
  const copyCost = gb * prices.copyPerGBMonth * (days / 30);
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

/** Money with enough digits that small thaws do not show as 0.00. */
export function formatCost(amount: number, currency: string): string {
  const digits = amount === 0 || amount >= 1 ? 2 : amount >= 0.01 ? 3 : 4;
  return `${amount.toFixed(digits)} ${currency}`;
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
