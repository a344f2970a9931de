/**
 * What the backups hold and what storing them costs. For the whole store: logical bytes from
 * the stored index copies, unique and sealed chunk bytes from the catalogue, stored bytes and
 * bricks from a listing. For some indexes: the distinct chunks they reference and the bricks
 * holding them.
 */
import { MOVED_PREFIX } from '../brick/moved';
import { ChunkTable } from '../catalogue/chunk-table';
import { chunkRefs, IndexItem } from '../index/reader';
import { listStoredIndexes } from '../index-source/stored';
import { monthlyCostByClass, PriceTable } from '../pricing/prices';
import type { Repository } from '../repo/repository';
import { planPrune, totals } from '../retention/prune';
import type { StorageClass } from '../store/backend';
import { scanCatalogue } from '../verify/catalogue-scan';

export interface Stats {
  indexes: number;
  entries: number;
  /** Bytes of the original tars. */
  logicalBytes: number;
  /** Plaintext bytes of the distinct chunks. */
  uniqueBytes: number;
  /** Sealed (compressed, padded, encrypted) bytes of those chunks. */
  chunkBytes: number;
  /** Bytes billed: the whole store, or for indexes the sealed chunks they use. */
  storedBytes: number;
  bricks: number;
  dedupRatio: number;
  compressionRatio: number;
  /** Per month for storedBytes in each storage class. */
  monthlyCost: Record<StorageClass, number>;
  currency: string;
  /** For the whole store: what `dtar prune` would delete now and save a month, and the dead bricks it would keep for their minimum duration. */
  reclaimable?: { bricks: number; bytes: number; monthlySaving: number; waitingBricks: number; waitingBytes: number };
}

type Counts = Omit<Stats, 'dedupRatio' | 'compressionRatio' | 'monthlyCost' | 'currency' | 'reclaimable'>;

function ratio(a: number, b: number): number {
  return b > 0 ? a / b : 1;
}

function priced(s: Counts, prices: PriceTable): Stats {
  return {
    ...s,
    dedupRatio: ratio(s.logicalBytes, s.uniqueBytes),
    compressionRatio: ratio(s.uniqueBytes, s.chunkBytes),
    monthlyCost: monthlyCostByClass(s.storedBytes, prices),
    currency: prices.currency,
  };
}

export async function storeStats(repo: Repository, prices: PriceTable, now: number): Promise<Stats> {
  const catalogue = await scanCatalogue(repo.backend, repo.keys);
  let logicalBytes = 0;
  let entries = 0;
  const indexes = await listStoredIndexes(repo);
  for (const s of indexes) {
    logicalBytes += s.meta?.tarSize ?? 0;
    entries += s.meta?.entries ?? 0;
  }
  let storedBytes = 0;
  let bricks = 0;
  for (const prefix of ['bricks/', 'catalogue/', 'indexes/', 'keys/', MOVED_PREFIX]) {
    for await (const o of repo.backend.list(prefix)) {
      storedBytes += o.size;
      if (prefix === 'bricks/') bricks++;
    }
  }
  storedBytes += (await repo.backend.stat('config'))?.size ?? 0;
  const plan = await planPrune(repo, { prices, now, earlyDelete: false });
  const reclaimable = {
    bricks: plan.toDelete.length,
    bytes: plan.toDelete.reduce((n, b) => n + b.size, 0),
    monthlySaving: totals(plan.before).monthly - totals(plan.after).monthly,
    waitingBricks: plan.waiting.length,
    waitingBytes: plan.waiting.reduce((n, b) => n + b.size, 0),
  };
  return { ...priced({ indexes: indexes.length, entries, logicalBytes, uniqueBytes: catalogue.plainBytes, chunkBytes: catalogue.sealedBytes, storedBytes, bricks }, prices), reclaimable };
}

/** Stats of the indexes whose items `indexes` yields (each checked to belong to the store by the caller). */
export async function indexStats(indexes: readonly (() => AsyncIterable<IndexItem>)[], prices: PriceTable): Promise<Stats> {
  const seen = new ChunkTable();
  const bricks = new Set<string>();
  let logicalBytes = 0;
  let entries = 0;
  let uniqueBytes = 0;
  let chunkBytes = 0;
  for (const items of indexes) {
    for await (const item of items()) {
      if (item.kind === 'trailer') {
        logicalBytes += item.trailer.tarSize;
        entries += item.trailer.entries;
      }
      for (const c of chunkRefs(item)) {
        if (!seen.add(c.id, { brick: 0, offset: 0, storedLength: 0, plainLength: 0 })) continue;
        uniqueBytes += c.plainLength;
        chunkBytes += c.storedLength;
        bricks.add(c.brick.toString('hex'));
      }
    }
  }
  return priced({ indexes: indexes.length, entries, logicalBytes, uniqueBytes, chunkBytes, storedBytes: chunkBytes, bricks: bricks.size }, prices);
}
