/**
 * `dtar stats [INDEX...]`: what the backups hold and what storing them costs (src/stats/).
 */
import type { Command } from 'commander';
import { jsonText } from '../errors';
import { readIndex } from '../index/reader';
import { formatCost, pricesFor, PRICES_ENV } from '../pricing/prices';
import { indexStats, Stats, storeStats } from '../stats/stats';
import { STORAGE_CLASSES } from '../store/backend';
import { Io, openRepository, StoreFlags, warner } from './context';
import { formatBytes } from './format';
import { indexInput, indexSource, recordedStore } from './index-file';
import { addStoreOptions } from './options';

interface StatsFlags extends StoreFlags {
  prices?: string;
  json?: boolean;
}

export async function statsCommand(io: Io, paths: string[], flags: StatsFlags): Promise<Stats> {
  const prices = pricesFor(flags.prices, io.env, warner(io));
  const repo = await openRepository(io, flags, await recordedStore(paths));
  if (paths.length === 0) return storeStats(repo, prices, Date.now());
  const sources = [];
  for (const path of paths) sources.push(await indexSource(repo, path));
  return indexStats(
    sources.map((source) => indexInput(source, repo)).map((input) => () => readIndex(input.open(), input.where, input.auth)),
    prices,
  );
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
  const r = s.reclaimable;
  if (r) {
    out += row('prune would delete', `${r.bricks} bricks, ${formatBytes(r.bytes)}, saving ${formatCost(r.monthlySaving, s.currency)} a month`);
    if (r.waitingBricks > 0) out += row('', `and ${r.waitingBricks} more bricks (${formatBytes(r.waitingBytes)}) once their minimum storage duration is over`);
  }
  out += 'monthly storage cost (storage only):\n';
  for (const c of STORAGE_CLASSES) out += row(`  ${c}`, formatCost(s.monthlyCost[c], s.currency));
  return out;
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('stats')
      .argument('[INDEX...]', 'only these backups: index tars, or @NAME / @ID (default: the whole store)')
      .description('sizes, deduplication and compression ratios, bricks, and monthly storage cost per S3 storage class')
      .option('--prices <FILE>', `JSON price table laid over the built-in us-east-1 one (also $${PRICES_ENV}; see docs/S3.md)`)
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
