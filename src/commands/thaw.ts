/**
 * `dtar thaw INDEX [PATH...]`: make the bricks that those paths need readable again when
 * they sit in Glacier (GLACIER or DEEP_ARCHIVE): plan, estimate cost and wait, send one
 * RestoreObject per archived brick; `--status` reports where they stand and `--wait` polls
 * until all are readable. The passphrase is needed to authenticate the index: a rewritten
 * one could otherwise send restore requests (and their costs) for any brick.
 */
import type { Command } from 'commander';
import { jsonText, UsageError } from '../errors';
import { planForPaths } from '../thaw/plan';
import { Relocations } from '../brick/moved';
import { notInArchive } from '../selection/selection';
import { formatWait } from '../thaw/estimate';
import { formatCost, pricesFor, PRICES_ENV, RESTORE_TIERS } from '../pricing/prices';
import { thawCommandLine, ThawHint } from '../thaw/refusal';
import { BRICK_STATES, StateCount, Survey } from '../thaw/state';
import { missingBricksError, thaw, ThawReport } from '../thaw/thaw';
import { Io, StoreFlags, warner } from './context';
import { formatBytes, parseIntOption } from './format';
import { INDEX_ARGUMENT, openIndex } from './index-file';
import { addStoreOptions } from './options';

interface ThawFlags extends StoreFlags {
  days: number;
  tier: string;
  dryRun?: boolean;
  status?: boolean;
  wait?: boolean;
  pollInterval: string;
  waitTimeout: string;
  prices?: string;
  json?: boolean;
  quiet?: boolean;
}

/** Polls back off from --poll-interval up to this. */
const MAX_POLL_MS = 30 * 60_000;

export async function thawCommand(io: Io, index: string, paths: string[], flags: ThawFlags): Promise<void> {
  const tier = RESTORE_TIERS.find((t) => t.toLowerCase() === flags.tier.toLowerCase());
  if (!tier) throw new UsageError(`--tier: one of ${RESTORE_TIERS.join(', ')}, not ${flags.tier}`);
  if (!(flags.days >= 1)) throw new UsageError('--days: at least 1');
  if (flags.wait && flags.dryRun) throw new UsageError('--wait with --dry-run: a dry run sends nothing to wait for');
  const pollMs = parseDuration(flags.pollInterval, '--poll-interval');
  const timeoutMs = parseDuration(flags.waitTimeout, '--wait-timeout');
  const prices = flags.status ? null : pricesFor(flags.prices, io.env, warner(io));

  const { repo, items } = await openIndex(io, index, flags);
  const backend = repo.backend;
  const plan = await planForPaths(items, paths);
  if (plan.unmatched.length > 0) throw notInArchive(plan.unmatched);
  const hint: ThawHint = { index, paths, store: flags };
  const progress = flags.quiet ? null : io.progress('thaw');
  let toRequest: StateCount = { bricks: 0, bytes: 0 };
  const say = (text: string): void => {
    progress?.done();
    if (!flags.json) io.stdout.write(text);
  };
  try {
    const thawed = await thaw(
      backend,
      Relocations.of(backend, repo.keys.data),
      plan.bricks.map((b) => b.id),
      { statusOnly: Boolean(flags.status), tier, days: flags.days, dryRun: Boolean(flags.dryRun), prices, wait: flags.wait ? { pollMs, maxPollMs: MAX_POLL_MS, timeoutMs } : null, hint },
      {
        onSurvey: (n, bytes) => progress?.update(bytes, null, `checked ${n} of ${plan.bricks.length} bricks`),
        onPlan: (r) => {
          if (r.thaw) toRequest = r.thaw.toRequest;
          say(r.thaw ? planText({ ...r, index, paths }) : statusText({ ...r, index, paths }));
        },
        onRequest: (n, bytes) => progress?.update(bytes, toRequest.bytes, `requested ${n} of ${toRequest.bricks} restores`),
        onRequested: (r) => say(requestText({ ...r, index, paths }, hint)),
        onPoll: (p) =>
          progress?.update(
            p.readableBytes,
            p.totalBytes,
            `${p.readable} of ${p.total} bricks readable` + (p.nextMs === null ? '' : `, next check in ${formatDuration(p.nextMs)}`),
          ),
      },
    );
    const report: Report = { ...thawed, index, paths };
    if (report.waitedSeconds !== undefined) say(`all ${report.bricks.bricks} bricks readable after ${report.waitedSeconds} s${untilText(report.bricks)}\n`);
    if (flags.json) io.stdout.write(jsonText(reportJson(report)) + '\n');
    const missing = missingBricksError(report.missing);
    if (missing) throw missing;
  } finally {
    progress?.done();
    await backend.close();
  }
}

interface Report extends ThawReport {
  index: string;
  paths: string[];
}

function what(r: Report): string {
  return r.paths.length === 0 ? r.index : `${r.paths.join(' ')} in ${r.index}`;
}

function line(label: string, c: StateCount, note = ''): string {
  return `  ${(label + ':').padEnd(26)}${String(c.bricks).padStart(6)}${c.bricks > 0 ? ` (${formatBytes(c.bytes)})${note}` : ''}\n`;
}

function untilText(s: Survey): string {
  return s.readableUntil ? `; the first restored copy expires ${s.readableUntil.toISOString()}` : '';
}

function statesText(s: Survey): string {
  let out = line('readable (not archived)', s.byState.readable);
  const until = s.readableUntil ? `, readable until ${s.readableUntil.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '';
  out += line('restored', s.byState.restored, until);
  out += line('restore in progress', s.byState.restoring);
  out += line('archived', s.byState.archived);
  if (s.byState.missing.bricks > 0) out += line('MISSING from the store', s.byState.missing);
  return out;
}

function statusText(r: Report): string {
  return `status of ${what(r)}: ${r.bricks.bricks} bricks (${formatBytes(r.bricks.bytes)})\n${statesText(r.bricks)}`;
}

function planText(r: Report): string {
  const t = r.thaw!;
  let out = `${t.dryRun ? 'thaw plan (dry run, nothing sent)' : 'thaw'} for ${what(r)}: ${r.bricks.bricks} bricks (${formatBytes(r.bricks.bytes)})\n`;
  out += statesText(r.bricks);
  if (t.toRequest.bricks === 0) return out + 'nothing to thaw\n';
  out += `to restore: ${t.toRequest.bricks} bricks, ${formatBytes(t.toRequest.bytes)}, ${t.toRequest.bricks} RestoreObject requests, ${t.tier} tier, kept ${t.days} days\n`;
  const cur = t.estimate.currency;
  for (const c of t.estimate.classes) {
    out +=
      `  ${c.storageClass}: ${c.bricks} bricks, about ${formatCost(c.total, cur)} (retrieval ${formatCost(c.retrievalCost, cur)}, ` +
      `requests ${formatCost(c.requestCost, cur)}, copy for ${t.days} days ${formatCost(c.copyCost, cur)}), ready in ${formatWait(c.waitHours)}\n`;
  }
  out += `estimated cost ${formatCost(t.estimate.total, cur)}, ready in ${formatWait(t.estimate.waitHours)} (prices: ${t.estimate.source})\n`;
  return out;
}

function requestText(r: Report, hint: ThawHint): string {
  const q = r.thaw!.requests!;
  const parts = [`${q.started} started`];
  if (q.inProgress > 0) parts.push(`${q.inProgress} already in progress`);
  if (q.notArchived > 0) parts.push(`${q.notArchived} not archived after all`);
  return `sent ${q.started + q.inProgress + q.notArchived} restore requests: ${parts.join(', ')}; follow with: ${thawCommandLine(hint, true)}\n`;
}

function reportJson(r: Report): object {
  const states = Object.fromEntries(BRICK_STATES.map((s) => [s, r.bricks.byState[s]]));
  return {
    index: r.index,
    paths: r.paths,
    bricks: r.bricks.bricks,
    bytes: r.bricks.bytes,
    states,
    readableUntil: r.bricks.readableUntil?.toISOString() ?? null,
    allReadable: r.bricks.byState.readable.bricks + r.bricks.byState.restored.bricks === r.bricks.bricks,
    ...(r.thaw && {
      tier: r.thaw.tier,
      days: r.thaw.days,
      dryRun: r.thaw.dryRun,
      toRequest: r.thaw.toRequest,
      requests: r.thaw.requests,
      estimate: r.thaw.estimate,
    }),
    ...(r.waitedSeconds !== undefined && { waitedSeconds: r.waitedSeconds }),
  };
}

/** "250ms", "30s", "5m", "2h", "1d"; a bare number is seconds. */
function parseDuration(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${what}: not a duration (like 90s, 5m, 2h): ${text}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  const ms = Math.round(Number(m[1]) * unit);
  if (ms <= 0) throw new UsageError(`${what}: must be more than zero`);
  return ms;
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('thaw')
      .argument('<INDEX>', INDEX_ARGUMENT)
      .argument('[PATH...]', 'members to make readable; a directory takes everything below it (default: the whole archive)')
      .description('restore from Glacier the bricks that these paths need, saying what it costs; or report their state')
      .option('--days <N>', 'keep the restored copies this many days', parseIntOption('--days'), 7)
      .option('--tier <TIER>', `retrieval tier: ${RESTORE_TIERS.join(', ')}`, 'Standard')
      .option('--dry-run', 'print the plan and cost; send no restore request (the bricks are still checked with HEAD)')
      .option('--status', 'report where the bricks stand (archived, restoring, readable until when) and send nothing')
      .option('--wait', 'then poll until every brick is readable, backing off from --poll-interval to 30 min')
      .option('--poll-interval <DURATION>', 'first wait between polls with --wait', '1m')
      .option('--wait-timeout <DURATION>', 'give up waiting after this long (exit 4)', '96h')
      .option('--prices <FILE>', `JSON price table to use instead of the built-in AWS one (also $${PRICES_ENV}; see docs/S3.md)`)
      .addHelpText(
        'after',
        '\nExamples:\n  dtar thaw --dry-run home.index.tar home/alice/Documents\n  dtar thaw --tier Bulk --days 3 home.index.tar\n  dtar thaw --status --wait home.index.tar && dtar restore home.index.tar | tar x\n\nExit status 4: --wait gave up, or bricks are archived with no restore running (all exit codes: docs/COMMANDS.md).',
      ),
  ).action(async (index: string, paths: string[], flags: ThawFlags) => {
    await thawCommand(io, index, paths, flags);
  });
}
