/**
 * Storage prices per S3 storage class, USD per GB-month (GB = 2^30 bytes, as AWS bills),
 * from AWS's public S3 pricing for us-east-1 (N. Virginia), first 50 TB tier:
 *   STANDARD 0.023, STANDARD_IA 0.0125, INTELLIGENT_TIERING 0.023 (frequent access tier;
 *   colder tiers cost less, plus a monitoring fee per object), GLACIER_IR 0.004,
 *   GLACIER (Flexible Retrieval) 0.0036, DEEP_ARCHIVE 0.00099.
 * Storage only: requests, retrievals, transfer and minimum durations are not included.
 * A JSON file ({"STANDARD": 0.021, ...}, any subset) given by --prices or $DTAR_PRICES
 * overrides them, for other regions or newer prices.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors';
import { STORAGE_CLASSES, StorageClass } from '../store/backend';

export type PriceTable = Record<StorageClass, number>;

export const US_EAST_1_PRICES: Readonly<PriceTable> = {
  STANDARD: 0.023,
  STANDARD_IA: 0.0125,
  INTELLIGENT_TIERING: 0.023,
  GLACIER_IR: 0.004,
  GLACIER: 0.0036,
  DEEP_ARCHIVE: 0.00099,
};

export const GB = 1024 ** 3;

/** The default table, with what the file at `path` overrides. */
export async function loadPrices(path: string | undefined): Promise<PriceTable> {
  const table: PriceTable = { ...US_EAST_1_PRICES };
  if (!path) return table;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read the price table ${path}: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`${path}: expected a JSON object of storage class -> USD per GB-month`);
  for (const [k, v] of Object.entries(parsed)) {
    if (!STORAGE_CLASSES.includes(k as StorageClass)) throw new UsageError(`${path}: unknown storage class ${k}; one of ${STORAGE_CLASSES.join(', ')}`);
    if (typeof v !== 'number' || !(v >= 0)) throw new UsageError(`${path}: the price of ${k} must be a number >= 0`);
    table[k as StorageClass] = v;
  }
  return table;
}

export function monthlyCost(bytes: number, prices: PriceTable): PriceTable {
  const out = { ...prices };
  for (const c of STORAGE_CLASSES) out[c] = (bytes / GB) * prices[c];
  return out;
}
