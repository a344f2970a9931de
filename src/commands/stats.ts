/**
 * `dtar stats [INDEX...]`: what the backups hold and what storing them costs. Without INDEX,
 * the whole store: logical bytes from the stored index copies, unique and sealed chunk bytes
 * from the catalogue, stored bytes and bricks from a listing. With INDEX, just those backups:
 * the distinct chunks they reference and the bricks holding them.
 */
import { jsonText } from '../errors';
import type { Command } from 'commander';
import { ChunkTable } from '../catalogue/chunk-table';
import { readIndex } from '../index/reader';
import type { Repository } from '../repo/repository';
import { STORAGE_CLASSES } from '../store/backend';
import { scanCatalogue } from '../verify/catalogue-scan';
import { Io, openRepository, StoreFlags } from './context';
import { formatBytes } from './format';
import { indexSource, recordedStore } from './index-file';
import { sourceAuth } from '../index-source/source';
import { addStoreOptions } from './options';
import { loadPrices, monthlyCost, PriceTable } from './prices';
import { listStoredIndexes } from '../index-source/stored';

interface StatsFlags extends StoreFlags {
  prices?: string;
  json?: boolean;
}

export interface Stats {
  indexes: number;
  entries: number;
  /** Bytes of the original tars. */
  logicalBytes: number;
  /** Plaintext bytes of the distinct chunks. */
  uniqueBytes: number;
  /** Sealed (compressed, padded, encrypted) bytes of those chunks. */
  chunkBytes: number;
  /** Bytes billed: the whole store, or for INDEX the sealed chunks they use. */
  storedBytes: number;
  bricks: number;
  dedupRatio: number;
  compressionRatio: number;
  /** USD per month of storedBytes in each storage class. */
  monthlyCost: PriceTable;
}

function ratio(a: number, b: number): number {
  return b > 0 ? a / b : 1;
}

async function storeStats(repo: Repository): Promise<Omit<Stats, 'dedupRatio' | 'compressionRatio' | 'monthlyCost'>> {
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
  for (const prefix of ['bricks/', 'catalogue/', 'indexes/', 'keys/']) {
    for await (const o of repo.backend.list(prefix)) {
      storedBytes += o.size;
      if (prefix === 'bricks/') bricks++;
    }
  }
  storedBytes += (await repo.backend.stat('config'))?.size ?? 0;
  return { indexes: indexes.length, entries, logicalBytes, uniqueBytes: catalogue.plainBytes, chunkBytes: catalogue.sealedBytes, storedBytes, bricks };
}

async function indexStats(repo: Repository, paths: readonly string[]): Promise<Omit<Stats, 'dedupRatio' | 'compressionRatio' | 'monthlyCost'>> {
  const seen = new ChunkTable();
  const bricks = new Set<string>();
  let logicalBytes = 0;
  let entries = 0;
  let uniqueBytes = 0;
  let chunkBytes = 0;
  for (const path of paths) {
    const source = await indexSource(repo, path);
    for await (const item of readIndex(source.open(), source.where, sourceAuth(source, repo.indexAuth))) {
      const body = item.kind === 'entry' ? item.record?.body : item.kind === 'trailer' ? item.trailer.tail : undefined;
      if (item.kind === 'trailer') {
        logicalBytes += item.trailer.tarSize;
        entries += item.trailer.entries;
      }
      for (const c of body?.chunks ?? []) {
        if (!seen.add(c.id, { brick: 0, offset: 0, storedLength: 0, plainLength: 0 })) continue;
        uniqueBytes += c.plainLength;
        chunkBytes += c.storedLength;
        bricks.add(c.brick.toString('hex'));
      }
    }
  }
  return { indexes: paths.length, entries, logicalBytes, uniqueBytes, chunkBytes, storedBytes: chunkBytes, bricks: bricks.size };
}

export async function statsCommand(io: Io, paths: string[], flags: StatsFlags): Promise<Stats> {
  const prices = await loadPrices(flags.prices ?? io.env.DTAR_PRICES);
  const repo = await openRepository(io, flags, await recordedStore(paths));
  const s = paths.length > 0 ? await indexStats(repo, paths) : await storeStats(repo);
  return { ...s, dedupRatio: ratio(s.logicalBytes, s.uniqueBytes), compressionRatio: ratio(s.uniqueBytes, s.chunkBytes), monthlyCost: monthlyCost(s.storedBytes, prices) };
}

function describe(s: Stats, scope: string): string {
  const row = (label: string, value: string): string => `${label.padEnd(22)}${value}\n`;
  let out = `${scope}\n`;
  out += row('backups', `${s.indexes} (${s.entries} entries)`);
  out += row('logical bytes', `${formatBytes(s.logicalBytes)} (${s.logicalBytes})`);
  out += row('unique chunk bytes', `${formatBytes(s.uniqueBytes)} (${s.uniqueBytes})`);
  out += row('stored bytes', `${formatBytes(s.storedBytes)} (${s.storedBytes}) in ${s.bricks} bricks`);
  out += row('deduplication', `${s.dedupRatio.toFixed(2)}x`);
  out += row('compression', `${s.compressionRatio.toFixed(2)}x`);
  out += 'monthly storage cost (USD, storage only):\n';
  for (const c of STORAGE_CLASSES) out += row(`  ${c}`, `$${s.monthlyCost[c].toFixed(s.monthlyCost[c] < 1 ? 4 : 2)}`);
  return out;
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('stats')
      .argument('[INDEX...]', 'only these backups: index tars, or @NAME / @ID (default: the whole store)')
      .description('sizes, deduplication and compression ratios, bricks, and monthly storage cost per S3 storage class')
      .option('--prices <FILE>', 'JSON object of storage class -> USD per GB-month overriding the built-in us-east-1 prices (also $DTAR_PRICES)')
      .addHelpText(
        'after',
        `
Deduplication is logical bytes / unique chunk bytes; compression is unique chunk bytes /
their sealed size. For INDEX, stored bytes are the sealed chunks those backups use.

Examples:
  dtar stats
  dtar stats --json home.index.tar | jq .monthlyCost.DEEP_ARCHIVE
  dtar stats --prices eu-west-1.json`,
      ),
    { quiet: false },
  ).action(async (paths: string[], flags: StatsFlags) => {
    const s = await statsCommand(io, paths, flags);
    io.stdout.write(flags.json ? jsonText(s) + '\n' : describe(s, paths.length > 0 ? `backups: ${paths.join(', ')}` : `store: ${flags.store ?? io.env.DTAR_STORE ?? '(default)'}`));
  });
}
