/**
 * Prune: delete the bricks that no stored index copy uses, and take them out of the
 * catalogue first, so that no later ingest deduplicates against a deleted brick.
 *
 * What is live comes from the index copies alone (hot objects), never from reading a brick.
 * A dead brick still inside its storage class's minimum duration is kept until it is free to
 * delete (unless `earlyDelete`); it stays in the catalogue meanwhile, and an ingest that
 * deduplicates against it makes it live again. Partly dead bricks are reported (their dead
 * bytes cost money every month) and priced for a repack (./repack.ts); with `repack`, those
 * it pays to rewrite are: their live chunks copied into new bricks, and a forwarding record
 * per old brick (src/brick/moved.ts) says where, for readers and for the live set here
 * (followMoves: the used chunks of a repacked brick mark the places they moved to).
 *
 * Order, so that `kill -9` anywhere leaves every kept archive readable, the catalogue naming
 * only stored bricks, and a second prune finishing the job (docs/ARCHITECTURE.md):
 *   0. with a repack: the new bricks, their catalogue segment, the forwarding records
 *      (rewriteBricks); 1. a new catalogue segment with the surviving bricks of the segments
 *      that name a brick to delete (or a repacked one); 2. those segments deleted; 3. the
 *      dead and the repacked bricks deleted; 4. forwarding records no stored index needs.
 * The caller holds the store's exclusive lock throughout (src/repo/lock.ts).
 */
import { Catalogue, listSegments } from '../catalogue/catalogue';
import { MAX_HOPS, MOVED_PREFIX, MovedChunk, Relocations } from '../brick/moved';
import type { BrickChunk } from '../brick/format';
import { BrickRecord, decodeSegment, encodeBrickRecord } from '../catalogue/segment';
import { CorruptDataError, escapeName, NotFoundError } from '../errors';
import { decodeIndexCopy } from '../index/copy';
import { chunkRefs, visitIndex } from '../index/reader';
import { listStoredIndexes } from '../index-source/stored';
import { DAY_MS, earlyDeletionCharge, monthlyCost, PriceTable } from '../pricing/prices';
import { removeLocks, StoreLock } from '../repo/lock';
import type { Repository } from '../repo/repository';
import { LiveSet } from './live-set';
import { PartlyDeadBrick, planRepack, RepackPlan, RepackSource, RepackStep, rewriteBricks, WrittenBrick } from './repack';
import type { ObjectInfo, StorageClass } from '../store/backend';
import { STORAGE_CLASSES } from '../store/backend';

export const BRICKS_PREFIX = 'bricks/';

export interface BrickFate {
  id: string;
  key: string;
  size: number;
  storageClass: StorageClass;
  /** Days since it was written; null when the store does not say. */
  ageDays: number | null;
  /** Sealed bytes of its chunks that no remaining archive uses (per the catalogue). */
  deadBytes: number;
  /** What deleting it now costs beyond what was already paid: the rest of its minimum duration. */
  earlyCharge: number;
  /** When it may be deleted without charge (for a dead brick kept for its minimum duration). */
  freeFrom: string | null;
}

export interface ClassTotals {
  bricks: number;
  bytes: number;
  monthly: number;
}

export type ByClass = Partial<Record<StorageClass, ClassTotals>>;

export interface PrunePlan {
  archives: number;
  /** Chunks the remaining archives use (of the bricks the catalogue lists, each copy counted). */
  liveChunks: number;
  /** Dead bricks deleted by this prune. */
  toDelete: BrickFate[];
  /** Dead bricks kept until their minimum duration is over. */
  waiting: BrickFate[];
  /** Live bricks that hold dead chunks. */
  partlyDead: BrickFate[];
  /** Catalogue segments rewritten without the bricks deleted (or that are missing and unused). */
  segmentsToRewrite: string[];
  /** Encoded records of the bricks those segments keep, for the new segment. */
  keptRecords: Buffer[];
  /** Catalogue entries of unused bricks no longer in the store, dropped with the rewrite. */
  missingUnused: number;
  earlyDeletionCharge: number;
  /** What deleting the waiting bricks now would cost (--early-delete). */
  waitingCharge: number;
  before: ByClass;
  after: ByClass;
  /** Partly dead bricks: their dead bytes and what those cost a month, per class. */
  deadInLive: ByClass;
  /** With `repack`: each partly dead brick priced for a repack; `after` counts those it pays to repack as repacked. */
  repack: RepackPlan | null;
  /** Bricks whose live chunks this prune rewrites (those the repack plan chose), read from the catalogue. */
  repackSources: RepackSource[];
  /**
   * Bricks deleted because their live chunks lie in other bricks now: those rewritten by this
   * prune, and those a prune stopped by a crash rewrote, their forwarding records written.
   */
  repacked: BrickFate[];
  /** Forwarding records no stored index needs any more (their bricks no index names). */
  movedToDelete: string[];
  /** After the run: the bricks the repack wrote. */
  written: WrittenBrick[];
  currency: string;
}

export interface PruneOptions {
  prices: PriceTable;
  /** Now, in ms since the epoch (injected by tests for minimum durations). */
  now: number;
  earlyDelete: boolean;
  /** Price a repack of the partly dead bricks. */
  repack?: boolean;
}

function add(t: ByClass, cls: StorageClass, bytes: number, prices: PriceTable, bricks = 1): void {
  const c = (t[cls] ??= { bricks: 0, bytes: 0, monthly: 0 });
  c.bricks += bricks;
  c.bytes += bytes;
  c.monthly += monthlyCost(bytes, cls, prices);
}

/**
 * The forwarding records of repacked bricks (src/brick/moved.ts), by old brick. A repacked
 * brick the catalogue no longer lists gets its chunks from its record, so that the archives'
 * references to it mark (see followMoves).
 */
async function readMoves(repo: Repository, live: LiveSet): Promise<Map<string, { key: string; record: ReadonlyMap<number, MovedChunk> }>> {
  const relocations = Relocations.of(repo.backend, repo.keys.data);
  const moves = new Map<string, { key: string; record: ReadonlyMap<number, MovedChunk> }>();
  for await (const o of repo.backend.list(MOVED_PREFIX)) {
    const hex = o.key.slice(MOVED_PREFIX.length);
    const record = await relocations.record(hex);
    if (!record) continue; // deleted since the listing
    moves.set(hex, { key: o.key, record });
    live.addMoved(hex, record);
  }
  return moves;
}

/**
 * Marks where the used chunks of repacked bricks lie now, over repacks of repacks (each round
 * follows one more hop, until nothing new is marked). Returns the repacked bricks some archive
 * reaches, and the keys of the records none does.
 */
function followMoves(live: LiveSet, moves: ReadonlyMap<string, { key: string; record: ReadonlyMap<number, MovedChunk> }>): { reached: Set<string>; unneeded: string[] } {
  for (let hop = 0; hop <= MAX_HOPS; hop++) {
    let marked = 0;
    for (const [hex, m] of moves) marked += live.follow(hex, m.record);
    if (marked === 0) break;
  }
  const reached = new Set([...moves.keys()].filter((hex) => live.bricks.has(hex)));
  return { reached, unneeded: [...moves].filter(([hex]) => !reached.has(hex)).map(([, m]) => m.key) };
}

/**
 * Whether a brick still stored whose forwarding record exists was rewritten whole, so that
 * deleting it loses nothing: its used chunks (per its catalogue record, if it has one still)
 * all lie where the record says. A prune killed after writing the record left it so.
 */
function movedWhole(hex: string, moved: ReadonlyMap<number, MovedChunk>, live: LiveSet): boolean {
  // Out of the catalogue (everyUsed holds then): taken out under the exclusive lock after the record was written, so no ingest has used it since.
  return live.everyUsed(hex, (offset, storedLength) => moved.get(offset)?.storedLength === storedLength);
}

/**
 * Marks in `live` the chunks every stored index copy uses; returns how many copies there are.
 * The copies are read one at a time and streamed through: nothing of one is kept past it.
 */
async function markArchives(repo: Repository, live: LiveSet): Promise<number> {
  const stored = await listStoredIndexes(repo);
  const unreadable = stored.find((s) => !s.meta);
  if (unreadable) {
    throw new CorruptDataError(`the stored index ${unreadable.id} cannot be read (${unreadable.damage ?? 'unreadable'}), so prune cannot tell which chunks it uses; \`dtar forget ${unreadable.id}\` it, or bring it back, first`);
  }
  let archives = 0;
  for (const s of stored) {
    let sealed: Buffer;
    try {
      sealed = await repo.backend.get(s.key, { maxLength: s.size });
    } catch (e) {
      if (e instanceof NotFoundError) continue; // forgotten since the listing: it keeps nothing
      throw e;
    }
    archives++;
    const where = `stored index ${s.id} (${escapeName(s.meta!.name)})`;
    await visitIndex(
      (async function* () {
        yield* decodeIndexCopy(repo.keys, sealed, s.key);
      })(),
      where,
      repo.indexAuth,
      (item) => {
        for (const c of chunkRefs(item)) live.mark(c);
      },
    );
  }
  return archives;
}

function classOf(c: StorageClass | undefined): StorageClass {
  return c ?? 'STANDARD';
}

export async function planPrune(repo: Repository, opts: PruneOptions): Promise<PrunePlan> {
  const { prices, now } = opts;
  // The catalogue first, segment by segment: each brick's chunks, and which bricks each segment
  // names; then the forwarding records; then the archives mark what they use.
  const live = new LiveSet();
  const segments: { key: string; size: number; bricks: string[] }[] = [];
  for (const o of await listSegments(repo.backend)) {
    const records = await readSegment(repo, o);
    segments.push({ key: o.key, size: o.size, bricks: records.map((r) => r.id.toString('hex')) });
    for (const r of records) live.addBrick(r);
  }
  const moved = await readMoves(repo, live);
  const archives = await markArchives(repo, live);
  const moves = followMoves(live, moved);

  const plan: PrunePlan = {
    archives,
    liveChunks: live.chunks,
    toDelete: [],
    waiting: [],
    partlyDead: [],
    segmentsToRewrite: [],
    keptRecords: [],
    missingUnused: 0,
    earlyDeletionCharge: 0,
    waitingCharge: 0,
    before: {},
    after: {},
    deadInLive: {},
    repack: null,
    repackSources: [],
    repacked: [],
    movedToDelete: moves.unneeded,
    written: [],
    currency: prices.currency,
  };
  const deleting = new Set<string>();
  const stored = new Set<string>();
  for await (const o of repo.backend.list(BRICKS_PREFIX)) {
    const id = o.key.slice(o.key.lastIndexOf('/') + 1);
    const cls = classOf(o.storageClass);
    stored.add(id);
    add(plan.before, cls, o.size, prices);
    const ageDays = o.modified ? (now - o.modified.getTime()) / DAY_MS : null;
    const fate: BrickFate = {
      id,
      key: o.key,
      size: o.size,
      storageClass: cls,
      ageDays,
      deadBytes: live.usage(id)?.dead ?? o.size,
      // Unknown age: taken as new, the safe side for the bill.
      earlyCharge: earlyDeletionCharge(o.size, cls, ageDays ?? 0, prices),
      freeFrom: null,
    };
    if (moves.reached.has(id) && movedWhole(id, moved.get(id)!.record, live)) {
      plan.repacked.push(fate);
      deleting.add(id);
    } else if (live.bricks.has(id)) {
      add(plan.after, cls, o.size, prices);
      if (fate.deadBytes > 0) {
        plan.partlyDead.push(fate);
        add(plan.deadInLive, cls, fate.deadBytes, prices);
      }
    } else if (fate.earlyCharge > 0 && !opts.earlyDelete) {
      const written = o.modified?.getTime() ?? now;
      fate.freeFrom = new Date(written + prices.classes[cls].minimumDays * DAY_MS).toISOString();
      plan.waiting.push(fate);
      plan.waitingCharge += fate.earlyCharge;
      add(plan.after, cls, o.size, prices);
    } else {
      plan.toDelete.push(fate);
      plan.earlyDeletionCharge += fate.earlyCharge;
      deleting.add(id);
    }
  }

  /** The bricks this prune rewrites (the repack plan's choice). */
  const rewriting = new Map<string, BrickFate>();
  if (opts.repack) {
    // A brick missing from the catalogue is not priced: what it holds is unknown (`dtar repair`).
    const bricks: PartlyDeadBrick[] = [];
    for (const f of plan.partlyDead) {
      const u = live.usage(f.id);
      if (u) bricks.push({ ...f, liveBytes: u.live, liveRuns: u.liveRuns });
    }
    plan.repack = await planRepack(repo.backend, bricks, prices);
    const partlyDead = new Map(plan.partlyDead.map((f) => [f.id, f]));
    for (const c of plan.repack.candidates) {
      if (c.verdict !== 'repack') continue;
      add(plan.after, c.storageClass, -c.size, prices, -1);
      add(plan.after, c.storageClass, c.liveBytes, prices); // one new brick each at most
      const f = partlyDead.get(c.id)!;
      plan.repacked.push(f);
      rewriting.set(f.id, f);
      deleting.add(c.id);
    }
  }

  // Segments naming a brick deleted now, or an unused one the store no longer has, are
  // rewritten with the rest of their bricks (read again: the first pass kept only names).
  const gone = (hex: string): boolean => deleting.has(hex) || (!stored.has(hex) && !live.bricks.has(hex));
  for (const s of segments) {
    if (!s.bricks.some(gone)) continue;
    plan.segmentsToRewrite.push(s.key);
    for (const r of await readSegment(repo, s)) {
      const hex = r.id.toString('hex');
      if (!gone(hex)) plan.keptRecords.push(encodeBrickRecord(r));
      else if (!stored.has(hex)) plan.missingUnused++;
      const f = rewriting.get(hex);
      if (f) {
        rewriting.delete(hex); // a brick listed twice is rewritten once
        plan.repackSources.push({ id: hex, key: f.key, storageClass: f.storageClass, live: liveOf(r, live) });
      }
    }
  }
  return plan;
}

/** A brick's live chunks, by offset. */
function liveOf(r: BrickRecord, live: LiveSet): BrickChunk[] {
  const hex = r.id.toString('hex');
  return r.chunks.filter((c) => live.isUsed(hex, c.offset)).sort((x, y) => x.offset - y.offset);
}

/** A catalogue segment; a damaged one stops prune (it cannot tell what the segment names). */
async function readSegment(repo: Repository, o: Pick<ObjectInfo, 'key' | 'size'>): Promise<BrickRecord[]> {
  try {
    return decodeSegment(repo.keys, await repo.backend.get(o.key, { maxLength: o.size }), o.key);
  } catch (e) {
    if (e instanceof CorruptDataError) throw new CorruptDataError(`${e.message}; run \`dtar repair\` before pruning`);
    throw e;
  }
}

/** Steps a test may stop the process at (DTAR_TEST_CRASH_AT), each with its count: "brick-deleted:2". */
export type PruneStep = RepackStep | 'segment-written' | 'segment-deleted' | 'brick-deleted' | 'moved-deleted';

export interface PruneProgress {
  onStep?: (step: PruneStep, n: number) => void;
  onBrickDeleted?: (done: number, total: number) => void;
}

/**
 * Carries out a plan: the repack's new bricks and records, the catalogue, then bricks (see
 * the order above). `stillOurs` checks the lock again once a repack, which may take long, is written.
 */
export async function prune(repo: Repository, plan: PrunePlan, progress: PruneProgress = {}, stillOurs: () => Promise<void> = async () => undefined): Promise<void> {
  if (plan.repackSources.length > 0) {
    plan.written = await rewriteBricks(repo, plan.repackSources, progress.onStep);
    await stillOurs();
  }
  if (plan.segmentsToRewrite.length > 0) {
    if (plan.keptRecords.length > 0) {
      await new Catalogue(repo.backend, repo.keys, null).writeSegment(plan.keptRecords);
      progress.onStep?.('segment-written', 1);
    }
    let n = 0;
    for (const key of plan.segmentsToRewrite) {
      await repo.backend.delete(key);
      progress.onStep?.('segment-deleted', ++n);
    }
  }
  let n = 0;
  const bricks = [...plan.toDelete, ...plan.repacked];
  for (const b of bricks) {
    await repo.backend.delete(b.key);
    progress.onBrickDeleted?.(n + 1, bricks.length);
    progress.onStep?.('brick-deleted', ++n);
  }
  n = 0;
  for (const key of plan.movedToDelete) {
    await repo.backend.delete(key);
    progress.onStep?.('moved-deleted', ++n);
  }
}

export interface PruneRun extends PruneOptions, PruneProgress {
  dryRun: boolean;
  /** Given the plan before anything is deleted (to show it). */
  onPlan?: (plan: PrunePlan) => void;
}

/**
 * A whole prune under the store's exclusive lock: the plan, then (unless a dry run) the
 * deletions, after checking the lock is still ours, since no ingest may have begun meanwhile.
 */
export async function pruneStore(repo: Repository, run: PruneRun): Promise<PrunePlan> {
  const lock = await StoreLock.take(repo.backend, 'exclusive', { command: 'prune', warn: repo.warn });
  let plan: PrunePlan;
  try {
    plan = await planPrune(repo, run);
    run.onPlan?.(plan);
    if (!run.dryRun) {
      await lock.check();
      await prune(repo, plan, run, () => lock.check());
      // A writer key releases its lock by marking it, as it may not delete: the marks are prune's to clear.
      await removeLocks(repo.backend, 'writers');
    }
  } catch (e) {
    await lock.release(false);
    throw e;
  }
  await lock.release();
  return plan;
}

/** Sums a per-class table. */
export function totals(t: ByClass): ClassTotals {
  const out = { bricks: 0, bytes: 0, monthly: 0 };
  for (const c of STORAGE_CLASSES) {
    const x = t[c];
    if (!x) continue;
    out.bricks += x.bricks;
    out.bytes += x.bytes;
    out.monthly += x.monthly;
  }
  return out;
}
