/**
 * The one price table: per S3 storage class, storage per GB-month, the minimum storage
 * duration, request fees, the retrieval fee of classes read directly, and the thaw tiers
 * of the Glacier classes; and its override file (`--prices FILE`, else $DTAR_PRICES).
 *
 * Built-in figures: AWS S3, region us-east-1, in USD, compiled 2026-11 from
 *   https://aws.amazon.com/s3/pricing/ ("Storage", first 50 TB; "Requests & data
 *   retrievals"), minimum durations from the storage-class table of
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-class-intro.html, and thaw
 *   waits from .../restoring-objects-retrieval-options.html (Flexible Retrieval: Expedited
 *   1-5 min for objects under 250 MB, Standard 3-5 h, Bulk 5-12 h; Deep Archive: Standard
 *   within 12 h, Bulk within 48 h; no Expedited). AWS bills per GB of 2^30 bytes, per 1,000
 *   requests; an object deleted before its class's minimum duration is charged for the rest
 *   of it; a restored copy is billed at the Standard rate on top of the archived object.
 *   Intelligent-Tiering is priced at its frequent-access tier (colder tiers cost less, plus
 *   a monitoring fee per object). Other regions and providers differ: docs/S3.md, "Prices".
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors';
import { RestoreTier, STORAGE_CLASSES, StorageClass } from '../store/backend';

export const RESTORE_TIERS: readonly RestoreTier[] = ['Expedited', 'Standard', 'Bulk'];

export const GB = 1024 ** 3;
export const DAY_MS = 86_400_000;
/** AWS prorates a GB-month over 30 days for minimum-duration charges and restored copies. */
export const MONTH_DAYS = 30;

export interface TierPrice {
  /** Retrieval fee per GB (2^30 bytes). */
  perGB: number;
  /** Fee per 1,000 RestoreObject requests. */
  per1000Requests: number;
  /** Typical time until the copy is readable, in hours: [at best, at worst]. */
  waitHours: [number, number];
}

export interface ClassPrice {
  storagePerGBMonth: number;
  /** Days an object is billed for at least, whenever it is deleted. */
  minimumDays: number;
  /** PUT, COPY, POST, LIST: per 1,000 requests. */
  putPer1000: number;
  /** GET, HEAD and the rest: per 1,000 requests. */
  getPer1000: number;
  /** Retrieval fee per GB read, for classes read without a thaw (Standard-IA, Glacier IR). */
  retrievalPerGB: number;
  /** The thaw tiers offered (Glacier Flexible Retrieval, Deep Archive); empty elsewhere. */
  restore: Partial<Record<RestoreTier, TierPrice>>;
}

export interface PriceTable {
  currency: string;
  /** Where the figures come from, shown with every estimate. */
  source: string;
  /** Storage of a temporary restored copy, per GB-month. */
  copyPerGBMonth: number;
  classes: Record<StorageClass, ClassPrice>;
}

const plain = (storagePerGBMonth: number, minimumDays: number, putPer1000: number, getPer1000: number, retrievalPerGB: number): ClassPrice => ({
  storagePerGBMonth,
  minimumDays,
  putPer1000,
  getPer1000,
  retrievalPerGB,
  restore: {},
});

export const DEFAULT_PRICES: Readonly<PriceTable> = {
  currency: 'USD',
  source: 'AWS us-east-1 list prices, 2026-11',
  copyPerGBMonth: 0.023,
  classes: {
    STANDARD: plain(0.023, 0, 0.005, 0.0004, 0),
    STANDARD_IA: plain(0.0125, 30, 0.01, 0.001, 0.01),
    INTELLIGENT_TIERING: plain(0.023, 0, 0.005, 0.0004, 0),
    GLACIER_IR: plain(0.004, 90, 0.02, 0.01, 0.03),
    GLACIER: {
      ...plain(0.0036, 90, 0.03, 0.0004, 0),
      restore: {
        Expedited: { perGB: 0.03, per1000Requests: 10.0, waitHours: [1 / 60, 5 / 60] },
        Standard: { perGB: 0.01, per1000Requests: 0.05, waitHours: [3, 5] },
        Bulk: { perGB: 0, per1000Requests: 0, waitHours: [5, 12] }, // free since 2021-11
      },
    },
    DEEP_ARCHIVE: {
      ...plain(0.00099, 180, 0.05, 0.0004, 0),
      restore: {
        Standard: { perGB: 0.02, per1000Requests: 0.1, waitHours: [0, 12] },
        Bulk: { perGB: 0.0025, per1000Requests: 0.025, waitHours: [0, 48] },
      },
    },
  },
};

/** The environment variable naming a price file (the --prices flag wins over it). */
export const PRICES_ENV = 'DTAR_PRICES';
/** Read when $DTAR_PRICES is not set: `thaw` took its prices from it before there was one table. */
const OLD_THAW_PRICES_ENV = 'DTAR_THAW_PRICES';

/**
 * The table for a command: the built-in one with the file from `--prices`, else
 * $DTAR_PRICES (else the older $DTAR_THAW_PRICES, with a warning), laid over it.
 */
export function pricesFor(flag: string | undefined, env: NodeJS.ProcessEnv, warn: (line: string) => void): PriceTable {
  if (flag !== undefined) return loadPrices(flag);
  if (env[PRICES_ENV]) return loadPrices(env[PRICES_ENV]);
  const old = env[OLD_THAW_PRICES_ENV];
  if (old) warn(`$${OLD_THAW_PRICES_ENV} is read for now; name the price file in $${PRICES_ENV} instead`);
  return loadPrices(old);
}

/**
 * The built-in table with a JSON file's fields laid over it: any subset of the table's
 * shape, e.g. {"currency":"EUR","classes":{"GLACIER":{"storagePerGBMonth":0.004,"Standard":{"perGB":0.011}}}}.
 * Thaw tiers sit in their class under the tier's name. Also read, as files written for
 * older dtars: {"STANDARD": 0.021, ...} (storage prices only, what `stats --prices` took).
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

const CLASS_FIELDS = ['storagePerGBMonth', 'minimumDays', 'putPer1000', 'getPer1000', 'retrievalPerGB'] as const;

/** `where` is the field holding the name, '' at the top. */
function storageClass(name: string, where: string): StorageClass {
  const c = STORAGE_CLASSES.find((x) => x === name);
  if (!c) throw new Error(`${where && `${where}: `}unknown storage class ${name}; one of ${STORAGE_CLASSES.join(', ')}`);
  return c;
}

function overlay(base: Readonly<PriceTable>, over: unknown, file: string): PriceTable {
  const o = record(over, 'the file');
  const classes = { ...base.classes };
  const table: PriceTable = { ...base, source: file, classes };
  for (const [k, v] of Object.entries(o)) {
    if (k === 'currency' || k === 'source') table[k] = text(v, k);
    else if (k === 'copyPerGBMonth') table.copyPerGBMonth = amount(v, k);
    else if (k === 'classes') {
      for (const [name, fields] of Object.entries(record(v, 'classes'))) {
        const cls = storageClass(name, 'classes');
        classes[cls] = classPrice(cls, classes[cls], record(fields, `classes.${cls}`));
      }
    } else if (typeof v === 'number') {
      // The older storage-only form: {"STANDARD": 0.021}.
      const cls = storageClass(k, '');
      classes[cls] = { ...classes[cls], storagePerGBMonth: amount(v, k) };
    } else throw new Error(`unknown field ${k}`);
  }
  return table;
}

function classPrice(cls: StorageClass, base: ClassPrice, o: Record<string, unknown>): ClassPrice {
  const where = `classes.${cls}`;
  const out: ClassPrice = { ...base, restore: { ...base.restore } };
  for (const [k, v] of Object.entries(o)) {
    const field = CLASS_FIELDS.find((f) => f === k);
    if (field) {
      out[field] = amount(v, `${where}.${k}`);
      continue;
    }
    const tier = RESTORE_TIERS.find((t) => t === k);
    if (!tier) throw new Error(`${where}.${k}: unknown field (${CLASS_FIELDS.join(', ')}, or a thaw tier: ${RESTORE_TIERS.join(', ')})`);
    if (cls !== 'GLACIER' && cls !== 'DEEP_ARCHIVE') throw new Error(`${where}.${k}: only GLACIER and DEEP_ARCHIVE need a thaw`);
    if (v === null) delete out.restore[tier]; // null: not offered
    else out.restore[tier] = tierPrice(out.restore[tier], v, `${where}.${k}`);
  }
  return out;
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

/** What `bytes` cost per month in each class. */
export function monthlyCostByClass(bytes: number, prices: PriceTable): Record<StorageClass, number> {
  const out = {} as Record<StorageClass, number>;
  for (const c of STORAGE_CLASSES) out[c] = (bytes / GB) * prices.classes[c].storagePerGBMonth;
  return out;
}

/** What `bytes` stored in `cls` cost per month. */
export function monthlyCost(bytes: number, cls: StorageClass, prices: PriceTable): number {
  return (bytes / GB) * prices.classes[cls].storagePerGBMonth;
}

/**
 * The charge for deleting an object `ageDays` old before its class's minimum duration: the
 * storage of the days left (0 once the minimum is reached).
 */
export function earlyDeletionCharge(bytes: number, cls: StorageClass, ageDays: number, prices: PriceTable): number {
  const left = prices.classes[cls].minimumDays - ageDays;
  return left > 0 ? monthlyCost(bytes, cls, prices) * (left / MONTH_DAYS) : 0;
}

/** Money with enough digits that small amounts do not show as 0.00. */
export function formatCost(amount: number, currency: string): string {
  const digits = amount === 0 || amount >= 1 ? 2 : amount >= 0.01 ? 3 : 4;
  return `${amount.toFixed(digits)} ${currency}`;
}
