/**
 * Checks that backups can be restored. Without reading data: every chunk an index refers to
 * is in the catalogue, and every brick it names exists with the size the catalogue records
 * (one stat per brick). With `readData`: each brick needed is also downloaded once and
 * checked whole (see BrickCopy), and every file's chunks are authenticated, decompressed,
 * checked against their ids and hashed against the file's SHA-256. Damage does not stop
 * the check: it is collected, by brick and by file, into the report. A brick that is missing
 * but has a forwarding record (src/brick/moved.ts: `prune --repack` rewrote it) is no damage:
 * its chunks are checked where the record says they lie now, in bricks stat'd and read as
 * the others.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { brickKey } from '../brick/format';
import { MAX_HOPS, movedPlace, MovedChunk, Relocations } from '../brick/moved';
import { ArchivedError, BackendError, BadIndexError, CorruptDataError, DtarError, escapeName, NotFoundError, WrongStoreError } from '../errors';
import type { ChunkRef } from '../index/record';
import { Readable } from 'node:stream';
import { readIndex, readIndexHeader } from '../index/reader';
import type { BodyRef } from '../index/record';
import { sourceAuth } from '../index-source/source';
import { BodyCheck } from '../read/bodies';
import type { Repository } from '../repo/repository';
import { Semaphore } from '../store/limit';
import { BrickCopy } from './brick-copy';
import { scanCatalogue } from './catalogue-scan';

export interface IndexToVerify {
  name: string;
  open(): AsyncIterable<Uint8Array>;
  /** A copy from the store, which its sealing authenticates: no warning when it is of format version 1. */
  stored: boolean;
  /** Copies in the store that may be this index's: it is compared with the one that is. */
  copies?: readonly StoredCopy[];
}

export interface StoredCopy {
  /** As `dtar archives` names it. */
  id: string;
  /** The index tar it holds, authenticated by its sealing. */
  load(): Promise<Buffer>;
}

export interface FileProblem {
  index: string;
  /** The file's name exactly (it need not be UTF-8). */
  path: Buffer;
  problem: string;
}

export interface VerifyReport {
  indexes: number;
  files: number;
  chunks: number;
  bricks: number;
  /** Brick bytes downloaded (read-data only). */
  bytesRead: number;
  /** Indexes that could not be read (damaged, truncated): their files went unchecked. */
  indexProblems: { index: string; problem: string }[];
  catalogueProblems: { segment: string; problem: string }[];
  brickProblems: { brick: string; problem: string }[];
  fileProblems: FileProblem[];
}

export interface VerifyOptions {
  readData: boolean;
  /** Where downloaded bricks are kept while files are checked (read-data only). */
  tempRoot: string;
  onProgress?(done: number, total: number | null): void;
}

const TAIL = Buffer.from('(end of archive)');

/** The bodies of an index, with the name to report them under; checks the index is this store's. */
async function* bodies(repo: Repository, source: IndexToVerify): AsyncGenerator<{ path: Buffer; body: BodyRef }> {
  const auth = sourceAuth(source, repo.indexAuth);
  for await (const item of readIndex(source.open(), source.name, auth)) {
    if (item.kind === 'meta' && item.meta.storeId !== repo.id) {
      throw new WrongStoreError(`${source.name} belongs to store ${item.meta.storeId.slice(0, 8)} (${escapeName(item.meta.store)}), not to the store opened (${repo.id.slice(0, 8)})`);
    }
    if (item.kind === 'entry' && item.record) yield { path: item.header.pathBytes, body: item.record.body };
    if (item.kind === 'trailer') yield { path: TAIL, body: item.trailer.tail };
  }
}

/** Where `source` differs from `expected`, or null when they are the same bytes. */
async function firstDifference(source: AsyncIterable<Uint8Array>, expected: Buffer): Promise<number | null> {
  let at = 0;
  for await (const piece of source) {
    const want = expected.subarray(at, at + piece.length);
    if (!want.equals(piece)) {
      let i = 0;
      while (i < want.length && want[i] === piece[i]) i++;
      return at + i;
    }
    at += piece.length;
  }
  return at === expected.length ? null : at;
}

/**
 * How the index differs from its sealed copy in the store, or null when it does not (or has
 * no copy). Its copy is the candidate with its tag: for an index of format version 1, which
 * has no MAC, this is what shows whether it was rewritten.
 */
async function copyProblem(source: IndexToVerify): Promise<string | null> {
  if (!source.copies?.length) return null;
  const tag = (await readIndexHeader(source.open(), source.name)).tag;
  for (const copy of source.copies) {
    let stored: Buffer;
    try {
      stored = await copy.load();
    } catch (e) {
      if (!(e instanceof BadIndexError || e instanceof CorruptDataError)) throw e;
      return `its copy in the store (${copy.id}) cannot be read: ${e.message}`;
    }
    const at = await firstDifference(source.open(), stored);
    if (at === null) return null;
    if ((await readIndexHeader(Readable.from([stored]), copy.id)).tag !== tag) continue; // another backup of that name
    return `differs from its copy in the store from byte ${at}: bring the copy back with 'dtar archives get ${copy.id}'`;
  }
  return null;
}

/** Damage found in the store (missing or corrupt objects), as opposed to failing to reach it. */
function isDamage(e: unknown): e is DtarError {
  return e instanceof DtarError && e.category === 'damage';
}

/** Whether the report holds any damage. */
export function damageFound(r: VerifyReport): boolean {
  return r.indexProblems.length + r.catalogueProblems.length + r.brickProblems.length + r.fileProblems.length > 0;
}

export async function verify(repo: Repository, sources: readonly IndexToVerify[], opts: VerifyOptions): Promise<VerifyReport> {
  const catalogue = await scanCatalogue(repo.backend, repo.keys);
  const report: VerifyReport = {
    indexes: sources.length,
    files: 0,
    chunks: 0,
    bricks: 0,
    bytesRead: 0,
    indexProblems: [],
    catalogueProblems: catalogue.damaged.map((d) => ({ segment: d.key, problem: d.message })),
    brickProblems: [],
    fileProblems: [],
  };
  const badBricks = new Map<string, string>();
  const brickProblem = (hex: string, problem: string): void => {
    if (!badBricks.has(hex)) {
      badBricks.set(hex, problem);
      report.brickProblems.push({ brick: hex, problem });
    }
  };

  // Pass 1: chunks against the catalogue, and the bricks needed.
  const needed = new Set<string>();
  const missingChunk = new Map<string, [string, Buffer]>();
  const readable: IndexToVerify[] = [];
  for (const source of sources) {
    try {
      for await (const { path, body } of bodies(repo, source)) {
        report.files++;
        for (const c of body.chunks) {
          report.chunks++;
          needed.add(c.brick.toString('hex'));
          if (!catalogue.chunks.has(c.id)) {
            const key = `${source.name}\0${path.toString('latin1')}`;
            if (!missingChunk.has(key)) missingChunk.set(key, [source.name, path]);
          }
        }
      }
      readable.push(source);
    } catch (e) {
      if (!(e instanceof BadIndexError || e instanceof CorruptDataError)) throw e;
      report.indexProblems.push({ index: source.name, problem: e.message });
    }
  }
  for (const source of readable) {
    const problem = await copyProblem(source);
    if (problem) report.indexProblems.push({ index: source.name, problem });
  }
  for (const [index, path] of missingChunk.values()) {
    report.fileProblems.push({ index, path, problem: "a chunk is missing from the catalogue (run 'dtar repair')" });
  }

  // Each brick: exists (or was repacked: then the bricks its chunks moved to are checked
  // too), has the recorded size, is in the catalogue.
  const gate = new Semaphore(8);
  const relocations = Relocations.of(repo.backend, repo.keys.data);
  const moved: Moved = new Map();
  /** Bricks to read with --read-data, with their sizes: not those longer than the catalogue says (already reported). */
  const toRead = new Map<string, number>();
  let statted = 0;
  const statBrick = async (hex: string, next: string[]): Promise<void> => {
    const info = await repo.backend.stat(brickKey(hex));
    const recorded = catalogue.bricks.get(hex);
    if (!info) {
      let record: ReadonlyMap<number, MovedChunk> | null = null;
      try {
        record = await relocations.record(hex);
      } catch (e) {
        if (!(e instanceof CorruptDataError)) throw e;
        brickProblem(hex, `missing from the store, and ${e.message}`);
        return;
      }
      if (!record) brickProblem(hex, 'missing from the store');
      else {
        moved.set(hex, record);
        for (const m of record.values()) {
          const to = m.newBrick.toString('hex');
          if (needed.has(to)) continue;
          needed.add(to);
          next.push(to);
        }
      }
    } else if (recorded !== undefined && info.size !== recorded) brickProblem(hex, `has ${info.size} bytes, the catalogue records ${recorded} (truncated or replaced)`);
    // Out of the catalogue with a forwarding record: repacked, and a prune killed before deleting it (the next one does).
    else if (recorded === undefined && !(await relocations.record(hex).catch(() => null))) brickProblem(hex, "not in the catalogue (run 'dtar repair')");
    if (info && !(recorded !== undefined && info.size > recorded)) toRead.set(hex, info.size);
    if (!opts.readData) opts.onProgress?.(++statted, needed.size);
  };
  for (let wave = [...needed]; wave.length > 0; ) {
    const next: string[] = [];
    await Promise.all(wave.map((hex) => gate.run(() => statBrick(hex, next))));
    wave = next;
  }
  report.bricks = needed.size - moved.size;

  if (opts.readData) await readData(repo, readable, toRead, moved, opts, report, brickProblem, badBricks);
  else if (badBricks.size > 0 || moved.size > 0) {
    // Pass 2: the files in bad bricks (where their chunks lie now).
    for (const source of readable) {
      for await (const { path, body } of bodies(repo, source)) {
        for (const c of body.chunks) {
          const at = placeNow(c, moved);
          const problem = typeof at === 'string' ? at : badBricks.has(at.hex) ? `in brick ${at.hex}, which is ${badBricks.get(at.hex)!}` : null;
          if (problem) {
            report.fileProblems.push({ index: source.name, path, problem });
            break;
          }
        }
      }
    }
  }
  return report;
}

async function readData(
  repo: Repository,
  sources: readonly IndexToVerify[],
  /** Brick id (hex) -> its size in the store. */
  needed: ReadonlyMap<string, number>,
  moved: Moved,
  opts: VerifyOptions,
  report: VerifyReport,
  brickProblem: (hex: string, problem: string) => void,
  badBricks: Map<string, string>,
): Promise<void> {
  const dir = await mkdtemp(join(opts.tempRoot, 'dtar-verify-'));
  const copies = new Map<string, BrickCopy>();
  try {
    const gate = new Semaphore(4);
    await Promise.all(
      [...needed].map(([hex, stored]) =>
        gate.run(async () => {
          try {
            const { copy, size, problem } = await BrickCopy.fetch(repo.backend, repo.keys, hex, stored, dir);
            copies.set(hex, copy);
            if (problem) brickProblem(hex, problem);
            report.bytesRead += size;
            opts.onProgress?.(report.bytesRead, null);
          } catch (e) {
            if (e instanceof ArchivedError || e instanceof BackendError || !isDamage(e)) throw e;
            brickProblem(hex, e.message.replace(`brick ${hex}: `, ''));
          }
        }),
      ),
    );
    for (const source of sources) {
      for await (const { path, body } of bodies(repo, source)) {
        const problem = await checkBody(body, copies, moved, badBricks, brickProblem);
        if (problem) report.fileProblems.push({ index: source.name, path, problem });
      }
    }
  } finally {
    for (const c of copies.values()) await c.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** What is wrong with one body, or null when every chunk and its SHA-256 check out. */
async function checkBody(body: BodyRef, copies: Map<string, BrickCopy>, moved: Moved, badBricks: Map<string, string>, brickProblem: (hex: string, problem: string) => void): Promise<string | null> {
  const check = new BodyCheck(body);
  for (const c of body.chunks) {
    const at = placeNow(c, moved);
    if (typeof at === 'string') return at;
    const hex = at.hex;
    const copy = copies.get(hex);
    if (!copy) return `in brick ${hex}, which is ${badBricks.get(hex) ?? 'unreadable'}`;
    try {
      check.update(await copy.read({ ...c, offset: at.offset }));
    } catch (e) {
      if (!(e instanceof CorruptDataError)) throw e;
      brickProblem(hex, `holds a damaged chunk (${e.message.replace(`brick ${hex}: `, '')})`);
      return e.message;
    }
  }
  return check.problem();
}

/** Forwarding records of the repacked bricks the indexes name (and of those their chunks moved to). */
type Moved = Map<string, ReadonlyMap<number, MovedChunk>>;

/** Where a chunk lies now, following the forwarding records of repacked bricks; what is wrong when a record does not list it. */
function placeNow(c: ChunkRef, moved: Moved): { hex: string; offset: number } | string {
  let hex = c.brick.toString('hex');
  let offset = c.offset;
  for (let hops = 0; ; hops++) {
    const record = moved.get(hex);
    if (!record) return { hex, offset };
    if (hops === MAX_HOPS) return `in brick ${hex}, whose chunks were moved more than ${MAX_HOPS} times over`;
    try {
      const m = movedPlace(hex, record, { offset, storedLength: c.storedLength });
      hex = m.newBrick.toString('hex');
      offset = m.newOffset;
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      return e.message;
    }
  }
}
