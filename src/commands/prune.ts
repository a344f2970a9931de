/**
 * `dtar prune`: delete the bricks no stored index copy uses (src/retention/prune.ts, under
 * the store's exclusive lock), saying what it reclaims and saves and what minimum storage
 * durations cost or delay.
 */
import type { Command } from 'commander';
import { jsonText, UsageError } from '../errors';
import { formatCost, pricesFor, PRICES_ENV } from '../pricing/prices';
import { BrickFate, ByClass, PrunePlan, pruneStore, PruneStep, totals } from '../retention/prune';
import type { RepackPlan, RepackVerdict } from '../retention/repack';
import { STORAGE_CLASSES } from '../store/backend';
import { Io, openRepository, StoreFlags, warner } from './context';
import { formatBytes } from './format';
import { addStoreOptions } from './options';

interface PruneFlags extends StoreFlags {
  dryRun?: boolean;
  earlyDelete?: boolean;
  repack?: boolean;
  prices?: string;
  json?: boolean;
  quiet?: boolean;
}

/**
 * Test suites only: DTAR_TEST_NOW (an ISO time) stands in for the clock that minimum storage
 * durations are counted by; DTAR_TEST_CRASH_AT ("brick-deleted:2") kills the process with
 * SIGKILL right after that step, for crash tests at exact points.
 */
function testHooks(env: NodeJS.ProcessEnv): { now: number; onStep?: (step: PruneStep, n: number) => void } {
  const now = env.DTAR_TEST_NOW ? Date.parse(env.DTAR_TEST_NOW) : Date.now();
  if (Number.isNaN(now)) throw new UsageError(`DTAR_TEST_NOW: not a time: ${env.DTAR_TEST_NOW}`);
  const crashAt = env.DTAR_TEST_CRASH_AT;
  return { now, ...(crashAt && { onStep: (step, n) => void (`${step}:${n}` === crashAt && process.kill(process.pid, 'SIGKILL')) }) };
}

export async function pruneCommand(io: Io, flags: PruneFlags): Promise<PrunePlan> {
  const prices = pricesFor(flags.prices, io.env, warner(io));
  const hooks = testHooks(io.env);
  const repo = await openRepository(io, flags);
  const dryRun = Boolean(flags.dryRun);
  const shown = !flags.json && !flags.quiet;
  // Set once the plan is shown, from inside the run.
  const shownProgress: { bar: ReturnType<Io['progress']> | null } = { bar: null };
  const plan = await pruneStore(repo, {
    prices,
    now: hooks.now,
    earlyDelete: Boolean(flags.earlyDelete),
    repack: Boolean(flags.repack),
    dryRun,
    onPlan: (p) => {
      if (shown) io.stdout.write(planText(p, dryRun));
      if (shown && !dryRun) shownProgress.bar = io.progress('prune');
    },
    onStep: hooks.onStep,
    onBrickDeleted: (n, total) => shownProgress.bar?.update(n, total, `deleted ${n} of ${total} bricks`),
  });
  shownProgress.bar?.done();
  if (shown && !dryRun && plan.written.length > 0) io.stdout.write(writtenText(plan));
  if (flags.json) io.stdout.write(jsonText(planJson(plan, dryRun)) + '\n');
  return plan;
}

function days(d: number | null): string {
  return d === null ? 'age unknown' : `${Math.floor(d)} days old`;
}

function classLines(t: ByClass, currency: string, what: (c: { bricks: number; bytes: number }) => string): string {
  let out = '';
  for (const cls of STORAGE_CLASSES) {
    const c = t[cls];
    if (c) out += `  ${(cls + ':').padEnd(21)}${what(c)}, ${formatCost(c.monthly, currency)} a month\n`;
  }
  return out;
}

function sized(c: { bricks: number; bytes: number }): string {
  return `${c.bricks} bricks, ${formatBytes(c.bytes)}`;
}

function bricksText(label: string, bricks: readonly BrickFate[]): string {
  const bytes = bricks.reduce((n, b) => n + b.size, 0);
  return `${label}: ${bricks.length} bricks, ${formatBytes(bytes)}`;
}

function planText(p: PrunePlan, dryRun: boolean): string {
  const cur = p.currency;
  let out = `${dryRun ? 'prune plan (dry run, nothing deleted)' : 'prune'}: ${p.archives} archives use ${p.liveChunks} chunks\n`;
  out += `${bricksText(dryRun ? 'to delete' : 'deleting', p.toDelete)}${p.earlyDeletionCharge > 0 ? `; early-deletion charge ${formatCost(p.earlyDeletionCharge, cur)}` : ''}\n`;
  if (p.waiting.length > 0) {
    out += `${bricksText('kept until their minimum storage duration is over', p.waiting)}; deleting them now (--early-delete) would cost ${formatCost(p.waitingCharge, cur)}\n`;
    for (const b of p.waiting) out += `  ${b.id}  ${b.storageClass}  ${formatBytes(b.size)}  ${days(b.ageDays)}, free to delete from ${b.freeFrom}\n`;
  }
  const dead = totals(p.deadInLive);
  if (dead.bytes > 0) {
    out += `partly dead: ${p.partlyDead.length} bricks hold ${formatBytes(dead.bytes)} no archive uses, ${formatCost(dead.monthly, cur)} a month${p.repack ? '' : ' (not rewritten; --repack rewrites those it pays to)'}\n`;
    out += classLines(p.deadInLive, cur, (c) => `${formatBytes(c.bytes)} dead`);
  }
  if (p.repack) out += repackText(p.repack, cur);
  const rewriting = new Set(p.repackSources.map((r) => r.id));
  const resumed = p.repacked.filter((b) => !rewriting.has(b.id));
  if (resumed.length > 0) out += `${bricksText(dryRun ? 'rewritten by an interrupted repack, to delete' : 'rewritten by an interrupted repack, deleting', resumed)}\n`;
  if (p.segmentsToRewrite.length > 0) out += `catalogue: ${p.segmentsToRewrite.length} segments rewritten without the bricks deleted${p.missingUnused > 0 ? ` (and ${p.missingUnused} bricks no longer stored)` : ''}\n`;
  const before = totals(p.before);
  const after = totals(p.after);
  out += `bricks before: ${sized(before)}, ${formatCost(before.monthly, cur)} a month\n${classLines(p.before, cur, sized)}`;
  out += `bricks after:  ${sized(after)}, ${formatCost(after.monthly, cur)} a month (saves ${formatCost(before.monthly - after.monthly, cur)} a month)\n${classLines(p.after, cur, sized)}`;
  return out;
}

function writtenText(p: PrunePlan): string {
  const bytes = p.written.reduce((n, b) => n + b.size, 0);
  return `repacked: the live chunks of ${p.repackSources.length} bricks rewritten into ${p.written.length} new bricks, ${formatBytes(bytes)}\n`;
}

const VERDICT: Record<RepackVerdict, string> = {
  repack: 'repack',
  'not-worth-it': 'keep: repacking costs more than it saves',
  'needs-thaw': 'not repacked: archived, it would pay once thawed (`dtar thaw` plans that)',
};

function repackText(r: RepackPlan, cur: string): string {
  const chosen = r.candidates.filter((c) => c.verdict === 'repack');
  let out = `repack plan: ${chosen.length} of ${r.candidates.length} partly dead bricks pay to repack, saving ${formatCost(r.net, cur)} net over their horizons (their live ${formatBytes(r.liveBytes)} rewritten)\n`;
  for (const c of r.candidates) {
    const costs = `early deletion ${formatCost(c.earlyCharge, cur)}, requests ${formatCost(c.requestCost, cur)}, retrieval ${formatCost(c.retrievalCost, cur)}`;
    out += `  ${c.id}  ${c.storageClass}  ${c.state}  ${formatBytes(c.deadBytes)} dead of ${formatBytes(c.size)}: saves ${formatCost(c.saving, cur)} over ${c.horizonDays} days; ${costs}; net ${formatCost(c.net, cur)}: ${VERDICT[c.verdict]}\n`;
  }
  return out;
}

function fateJson(b: BrickFate): object {
  return { id: b.id, storageClass: b.storageClass, size: b.size, ageDays: b.ageDays, deadBytes: b.deadBytes, earlyCharge: b.earlyCharge, freeFrom: b.freeFrom };
}

function planJson(p: PrunePlan, dryRun: boolean): object {
  return {
    dryRun,
    archives: p.archives,
    liveChunks: p.liveChunks,
    currency: p.currency,
    deleted: p.toDelete.map(fateJson),
    waiting: p.waiting.map(fateJson),
    partlyDead: p.partlyDead.map(fateJson),
    earlyDeletionCharge: p.earlyDeletionCharge,
    waitingCharge: p.waitingCharge,
    segmentsRewritten: p.segmentsToRewrite.length,
    deadInLive: p.deadInLive,
    ...(p.repack && { repack: p.repack }),
    repacked: p.repacked.map(fateJson),
    written: p.written,
    before: { ...totals(p.before), byClass: p.before },
    after: { ...totals(p.after), byClass: p.after },
    monthlySaving: totals(p.before).monthly - totals(p.after).monthly,
  };
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('prune')
      .description('delete the bricks no remaining archive uses, respecting minimum storage durations; report what it reclaims and saves')
      .option('--dry-run', 'print the plan and what it saves; delete nothing')
      .option('--repack', 'rewrite the live chunks of partly dead bricks into new bricks where that pays (with --dry-run: only price it, brick by brick)')
      .option('--early-delete', "also delete dead bricks still within their storage class's minimum duration (the charge is reported)")
      .option('--prices <FILE>', `JSON price table laid over the built-in us-east-1 one (also $${PRICES_ENV}; see docs/S3.md)`)
      .addHelpText(
        'after',
        `
Which chunks are live comes from the stored index copies (dtar archives), never from
reading bricks. Prune takes the store's exclusive lock: it waits for no ingest, it refuses
while one runs. A dead brick younger than its class's minimum duration (Standard-IA 30 days,
Glacier IR and Flexible Retrieval 90, Deep Archive 180) is kept until it is free to delete.
--repack prices a repack of each partly dead brick over its class's minimum duration (at
least a month): the dead bytes' storage saved against early deletion, requests and
retrieval (a thaw for Glacier classes), and rewrites the live chunks of those where it pays
into new bricks of the same class; an archived brick is never thawed for it. Indexes that
name a repacked brick keep reading: its chunks are found where they moved.

Examples:
  dtar forget --keep-daily 7 --keep-weekly 4 && dtar prune --dry-run
  dtar prune --json | jq .monthlySaving
  dtar prune --dry-run --repack`,
      ),
  ).action(async (flags: PruneFlags) => {
    await pruneCommand(io, flags);
  });
}
