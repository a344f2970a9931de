/**
 * `dtar forget [ARCHIVE...] [--keep-* N] [--keep-within SPAN] [--name NAME]`: drop stored
 * index copies by a keep policy (src/retention/policy.ts) or by id/name; bricks stay until
 * `dtar prune`.
 */
import type { Command } from 'commander';
import { escapeName, jsonText, UsageError } from '../errors';
import { forget, ForgetDecision, planForget } from '../retention/forget';
import { isEmptyPolicy, KeepPolicy, Span } from '../retention/policy';
import { Io, openRepository, StoreFlags } from './context';
import { parseIntOption } from './format';
import { addStoreOptions } from './options';
import { writeChunk } from './stdout';

interface ForgetFlags extends StoreFlags {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  keepWithin?: Span;
  name?: string;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** restic's form: "1y6m", "14d", "36h", "2y3m4d5h" (years, months, days, hours). */
function parseSpan(text: string): Span {
  const m = /^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?(?:(\d+)h)?$/.exec(text.trim());
  if (!m || text.trim() === '') throw new UsageError(`--keep-within: not a span like 7d, 36h or 1y6m: ${text}`);
  return { years: Number(m[1] ?? 0), months: Number(m[2] ?? 0), days: Number(m[3] ?? 0), hours: Number(m[4] ?? 0) };
}

function count(what: string): (text: string) => number {
  const parse = parseIntOption(what);
  return (text) => {
    const n = parse(text);
    if (n < 1) throw new UsageError(`${what}: at least 1`);
    return n;
  };
}

export async function forgetCommand(io: Io, archives: string[], flags: ForgetFlags): Promise<ForgetDecision[]> {
  const policy: KeepPolicy = { last: flags.keepLast, hourly: flags.keepHourly, daily: flags.keepDaily, weekly: flags.keepWeekly, monthly: flags.keepMonthly, yearly: flags.keepYearly, within: flags.keepWithin };
  const hasPolicy = !isEmptyPolicy(policy);
  if (hasPolicy && archives.length > 0) throw new UsageError('give either ARCHIVE arguments or a keep policy, not both');
  if (flags.name !== undefined && !hasPolicy) throw new UsageError('--name chooses the archives a keep policy applies to; give a policy');
  if (!hasPolicy && archives.length === 0) throw new UsageError('nothing to forget: give ARCHIVE arguments or a keep policy (--keep-last, --keep-daily, ...)');
  const repo = await openRepository(io, flags);
  const decisions = await planForget(repo, hasPolicy ? { policy, name: flags.name } : { archives });
  if (!flags.json && !flags.quiet) await writeChunk(io.stdout, Buffer.from(decisions.map(line).join('')));
  if (!flags.dryRun) await forget(repo, decisions);
  const dropped = decisions.filter((d) => !d.keep).length;
  if (flags.json) io.stdout.write(jsonText({ dryRun: Boolean(flags.dryRun), archives: decisions.map(row) }) + '\n');
  else if (!flags.quiet) io.stderr.write(`${flags.dryRun ? 'would forget' : 'forgot'} ${dropped} of ${decisions.length} archives${dropped > 0 ? '; `dtar prune` frees the bricks only they used' : ''}\n`);
  return decisions;
}

function line(d: ForgetDecision): string {
  const m = d.stored.meta;
  const when = m ? m.created.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '(unreadable)';
  return `${d.keep ? 'keep' : 'drop'}  ${d.stored.id}  ${when}  ${m ? escapeName(m.name) : ''}${d.reasons.length > 0 ? `  (${d.reasons.join(', ')})` : ''}\n`;
}

function row(d: ForgetDecision): object {
  return { id: d.stored.id, name: d.stored.meta?.name ?? null, created: d.stored.meta?.created ?? null, action: d.keep ? 'keep' : 'drop', reasons: d.reasons };
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('forget')
      .argument('[ARCHIVE...]', 'ids from `dtar archives`, or names (the newest with that name); or give a keep policy')
      .description('remove stored index copies by a keep policy or by id; `dtar prune` then frees their bricks')
      .option('--keep-last <N>', 'keep the N newest archives', count('--keep-last'))
      .option('--keep-hourly <N>', 'keep the newest archive of each of the last N hours that have one', count('--keep-hourly'))
      .option('--keep-daily <N>', 'keep the newest archive of each of the last N days that have one', count('--keep-daily'))
      .option('--keep-weekly <N>', 'keep the newest archive of each of the last N ISO weeks that have one', count('--keep-weekly'))
      .option('--keep-monthly <N>', 'keep the newest archive of each of the last N months that have one', count('--keep-monthly'))
      .option('--keep-yearly <N>', 'keep the newest archive of each of the last N years that have one', count('--keep-yearly'))
      .option('--keep-within <SPAN>', 'keep every archive less than SPAN (like 7d, 36h, 1y6m) older than the newest of its name', parseSpan)
      .option('--name <NAME>', 'apply the policy to the archives of this name only (default: each name on its own)')
      .option('--dry-run', 'print what would be kept and dropped; remove nothing')
      .addHelpText(
        'after',
        `
A policy applies to each archive name (ingest --name) on its own, with restic's rules
(docs/COMMANDS.md has an example); periods are in UTC. Each archive is printed as kept
(with the rules that keep it) or dropped. Only index copies are removed: run \`dtar prune\`
to delete the bricks no remaining archive uses.

Examples:
  dtar forget --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --dry-run
  dtar forget --name home --keep-last 3
  dtar forget 20261204T031500Z-1a2b3c4d5e6f`,
      ),
  ).action(async (archives: string[], flags: ForgetFlags) => {
    await forgetCommand(io, archives, flags);
  });
}
