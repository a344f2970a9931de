/** `dtar verify [INDEX...] [--read-data]`: check that backups can be restored, and report what cannot. */
import { tmpdir } from 'node:os';
import type { Command } from 'commander';
import { DamageFoundError, escapeName, jsonText } from '../errors';
import { damageFound, verify, VerifyReport } from '../verify/verify';
import { indexesToVerify } from '../verify/sources';
import { Io, openRepository, StoreFlags } from './context';
import { formatBytes } from './format';
import { pathJson } from './listing';
import { recordedStore } from './index-file';
import { addStoreOptions } from './options';

interface VerifyFlags extends StoreFlags {
  readData?: boolean;
  json?: boolean;
  quiet?: boolean;
}

function describe(r: VerifyReport): string {
  const lines: string[] = [];
  for (const p of r.indexProblems) lines.push(`damaged index ${p.index}: ${p.problem}`);
  for (const p of r.catalogueProblems) lines.push(`damaged catalogue segment ${p.segment}: ${p.problem}`);
  for (const p of r.brickProblems) lines.push(`damaged brick ${p.brick}: ${p.problem}`);
  for (const p of r.fileProblems) lines.push(`damaged file ${p.index}: ${escapeName(p.path)}: ${p.problem}`);
  return lines.map((l) => l + '\n').join('');
}

export async function verifyCommand(io: Io, indexes: string[], flags: VerifyFlags): Promise<VerifyReport> {
  const repo = await openRepository(io, flags, await recordedStore(indexes));
  const sources = await indexesToVerify(repo, indexes);
  const progress = flags.quiet ? null : io.progress(flags.readData ? 'verify (reading bricks)' : 'verify');
  let report: VerifyReport;
  try {
    report = await verify(repo, sources, { readData: Boolean(flags.readData), tempRoot: tmpdir(), onProgress: (d, t) => progress?.update(d, t) });
  } finally {
    progress?.done();
  }
  const bad = damageFound(report);
  if (flags.json) {
    const fileProblems = report.fileProblems.map((p) => ({ index: p.index, ...pathJson(p.path), problem: p.problem }));
    io.stdout.write(jsonText({ ok: !bad, readData: Boolean(flags.readData), ...report, fileProblems }) + '\n');
  }
  else {
    io.stdout.write(describe(report));
    if (!flags.quiet || bad) {
      const what = `${report.indexes} indexes, ${report.files} files, ${report.chunks} chunk references in ${report.bricks} bricks`;
      const read = flags.readData ? `, ${formatBytes(report.bytesRead)} read` : ' (not reading data; --read-data checks every byte)';
      io.stderr.write(`verified ${what}${read}: ${bad ? 'DAMAGE FOUND' : 'no damage'}\n`);
    }
  }
  if (bad) throw new DamageFoundError(`damage found: ${report.fileProblems.length} files affected, ${report.brickProblems.length} bricks, ${report.catalogueProblems.length} catalogue segments, ${report.indexProblems.length} indexes`);
  return report;
}

export function register(program: Command, io: Io): void {
  addStoreOptions(
    program
      .command('verify')
      .argument('[INDEX...]', 'index tars, or @NAME / @ID, to check (default: every index stored in the store)')
      .description('check that backups can be restored; exit code 1 when anything is damaged')
      .option('--read-data', 'download every brick needed once and check every byte (authentication, decompression, chunk ids, file SHA-256)')
      .addHelpText(
        'after',
        `
Without --read-data: every chunk referenced is in the catalogue, every brick exists with its
recorded size (no brick contents are read). A local INDEX is also compared with its sealed
copy in the store, where one exists. With --read-data, bricks are downloaded to a
temporary directory (room for the bricks the indexes use is needed) and checked whole.
Damaged files are listed by path, with the bricks concerned, on standard output.

Examples:
  dtar verify home.index.tar
  dtar verify --read-data
  dtar verify --json home.index.tar | jq '.fileProblems[].path'`,
      ),
  ).action(async (indexes: string[], flags: VerifyFlags) => {
    await verifyCommand(io, indexes, flags);
  });
}
