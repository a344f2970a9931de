/**
 * Rebuilds the chunk catalogue from the bricks themselves. Every brick ends with a sealed
 * table of its chunks, so for each brick in the store that no readable catalogue segment
 * lists, two ranged reads (trailer, then table) recover its catalogue record. The records go
 * into one new segment; only once it is durable are damaged segments deleted, so a crash in
 * between leaves the catalogue no worse than before. Segments and bricks of a newer format
 * are left alone: they are not damaged, only beyond this dtar.
 *
 * A rebuilt record's Glacier tree hash is all zeros ("not known"): computing it would mean
 * reading the whole brick, and nothing depends on it yet.
 */
import { BRICK_TRAILER_SIZE, decodeTable, parseTrailer } from '../brick/format';
import { writeSegment } from '../catalogue/catalogue';
import { BrickRecord, encodeBrickRecord } from '../catalogue/segment';
import { ArchivedError, CorruptDataError, NotFoundError, UnsupportedFormatError } from '../errors';
import type { Repository } from '../repo/repository';
import { scanCatalogue } from './catalogue-scan';

const BRICKS_PREFIX = 'bricks/';

export interface RepairReport {
  bricks: number;
  /** Bricks whose records were rebuilt from their tables. */
  rebuilt: string[];
  /** Bricks that could not be read (damaged table, archived): still missing from the catalogue. */
  unreadable: { brick: string; problem: string }[];
  damagedSegments: string[];
  /** Segments and bricks of a newer format, left as they are: what each is. */
  newer: { key: string; problem: string }[];
  /** The segment written, or null when nothing needed one. */
  newSegment: string | null;
  /** Damaged segments deleted (after the new segment was written). */
  removedSegments: string[];
}

async function readRecord(repo: Repository, key: string, hex: string, size: number): Promise<BrickRecord> {
  const where = `brick ${hex}`;
  if (size < BRICK_TRAILER_SIZE) throw new CorruptDataError(`${where}: too short to be a brick`);
  const trailer = await repo.backend.get(key, { offset: size - BRICK_TRAILER_SIZE, length: BRICK_TRAILER_SIZE });
  const table = parseTrailer(trailer, size, where);
  const sealed = await repo.backend.get(key, table);
  if (sealed.length !== table.length) throw new CorruptDataError(`${where}: table truncated`);
  return { id: Buffer.from(hex, 'hex'), size, treeHash: Buffer.alloc(32), chunks: decodeTable(repo.keys, table, sealed, where) };
}

export async function repairCatalogue(repo: Repository, opts: { dryRun: boolean; onProgress?(done: number, total: number): void }): Promise<RepairReport> {
  const scan = await scanCatalogue(repo.backend, repo.keys, { listNewer: true });
  const report: RepairReport = {
    bricks: 0,
    rebuilt: [],
    unreadable: [],
    damagedSegments: scan.damaged.map((d) => d.key),
    newer: scan.newer.map((n) => ({ key: n.key, problem: n.message })),
    newSegment: null,
    removedSegments: [],
  };
  const missing: { key: string; hex: string; size: number }[] = [];
  for await (const o of repo.backend.list(BRICKS_PREFIX)) {
    const hex = o.key.slice(o.key.lastIndexOf('/') + 1);
    if (!/^[0-9a-f]{64}$/.test(hex)) continue;
    report.bricks++;
    if (!scan.bricks.has(hex)) missing.push({ key: o.key, hex, size: o.size });
  }
  const records: BrickRecord[] = [];
  for (const [i, m] of missing.entries()) {
    try {
      records.push(await readRecord(repo, m.key, m.hex, m.size));
      report.rebuilt.push(m.hex);
    } catch (e) {
      if (e instanceof UnsupportedFormatError) report.newer.push({ key: m.key, problem: e.message });
      else if (e instanceof CorruptDataError || e instanceof ArchivedError || e instanceof NotFoundError) report.unreadable.push({ brick: m.hex, problem: e.message.replace(`brick ${m.hex}: `, '') });
      else throw e;
    }
    opts.onProgress?.(i + 1, missing.length);
  }
  if (opts.dryRun) return report;
  if (records.length > 0) report.newSegment = await writeSegment(repo.backend, { dataKey: repo.keys.data }, records.map(encodeBrickRecord));
  for (const key of report.damagedSegments) {
    await repo.backend.delete(key);
    report.removedSegments.push(key);
  }
  return report;
}
