/** `dtar repair`: rebuild the chunk catalogue from the bricks' own tables. */
import type { Command } from 'commander';
import { DamageFoundError, jsonText, NewerFormatsLeftError } from '../errors';
import { repairCatalogue } from '../verify/repair';
import { Io, openRepository, StoreFlags } from './context';
import { addStoreOptions } from './options';

interface RepairFlags extends StoreFlags {
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export async function repairCommand(io: Io, flags: RepairFlags): Promise<void> {
  const repo = await openRepository(io, flags);
  const progress = flags.quiet ? null : io.progress('repair (reading brick tables)');
  const r = await repairCatalogue(repo, { dryRun: Boolean(flags.dryRun), onProgress: (d, t) => progress?.update(d, t) }).finally(() => progress?.done());
  if (flags.json) io.stdout.write(jsonText({ dryRun: Boolean(flags.dryRun), ...r }) + '\n');
  else {
    const lines: string[] = [];
    const verb = flags.dryRun ? 'would rebuild' : 'rebuilt';
    for (const s of r.damagedSegments) lines.push(`damaged catalogue segment ${s}${flags.dryRun ? ' (would be removed)' : ' removed'}`);
    for (const b of r.rebuilt) lines.push(`${verb} the catalogue record of brick ${b}`);
    for (const u of r.unreadable) lines.push(`cannot read brick ${u.brick}: ${u.problem}`);
    for (const n of r.newer) lines.push(`left alone: ${n.problem}`);
    lines.push(
      r.rebuilt.length + r.damagedSegments.length === 0
        ? `catalogue complete: all ${r.bricks} bricks listed`
        : `${r.bricks} bricks in the store; ${verb} ${r.rebuilt.length}${r.newSegment ? ` into ${r.newSegment}` : ''}`,
    );
    io.stderr.write(lines.map((l) => l + '\n').join(''));
  }
  if (r.unreadable.length > 0) throw new DamageFoundError(`${r.unreadable.length} bricks could not be read and are still missing from the catalogue`);
  if (r.newer.length > 0) throw new NewerFormatsLeftError(r.newer.length);
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('repair')
      .description("rebuild the chunk catalogue from the bricks' own tables (for bricks it lacks, and in place of damaged segments)")
      .option('-n, --dry-run', 'only report what would be done')
      .addHelpText('after', "\nReads two small ranges of each brick the catalogue lacks; never rewrites a brick.\n\nExamples:\n  dtar repair --dry-run\n  dtar repair && dtar verify"),
  ).action(async (flags: RepairFlags) => {
    await repairCommand(io, flags);
  });
}
