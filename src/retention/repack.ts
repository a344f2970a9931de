/**
 * Repack: whether rewriting the live chunks of a partly dead brick into a new brick pays for
 * itself, from the one price table (src/pricing/prices.ts), and the rewrite itself.
 *
 * Over the brick's class horizon (its minimum storage duration, at least a month: what the
 * new brick commits to), repacking saves the storage of its dead bytes, and costs the
 * early deletion of the old brick, the requests (ranged GETs of its live runs, the PUT of
 * the new brick) and the retrieval: per GB read for Standard-IA and Glacier IR, a thaw of
 * the whole brick at the cheapest tier for Glacier Flexible Retrieval and Deep Archive.
 * The live bytes cost the same in the old brick or the new one, so they do not count.
 * A brick of an archive class that is not readable now (src/thaw/state.ts) is never
 * repacked: `dtar thaw` makes it readable, at a cost it plans.
 *
 * The rewrite (rewriteBricks) copies each live sealed chunk as it is (its AAD binds its id,
 * not its brick: docs/FORMAT.md §4) into new bricks of the old one's class, after opening it
 * and checking it against its id, then writes their catalogue segment, then a forwarding
 * record per old brick (src/brick/moved.ts), which readers follow once the old brick is
 * gone. Prune then takes the old bricks out of the catalogue and deletes them (./prune.ts).
 */
import { BrickBuilder } from '../brick/builder';
import { openChunk } from '../brick/chunk-codec';
import { BrickChunk, brickKey } from '../brick/format';
import { encodeMoved, movedKey, MovedChunk } from '../brick/moved';
import { readBrick } from '../brick/reads';
import { Catalogue } from '../catalogue/catalogue';
import { encodeBrickRecord } from '../catalogue/segment';
import { CorruptDataError, UnsupportedFormatError } from '../errors';
import { earlyDeletionCharge, GB, monthlyCost, MONTH_DAYS, PriceTable, RESTORE_TIERS } from '../pricing/prices';
import { coalesce } from '../read/plan';
import type { Repository } from '../repo/repository';
import type { Backend, StorageClass } from '../store/backend';
import type { BrickFate } from './prune';
import { estimate } from '../thaw/estimate';
import { ARCHIVE_CLASSES, BrickState, isReadable, stateOf } from '../thaw/state';

/** A partly dead brick as prune's plan sees it, with its live chunks: their sealed bytes, and the runs of adjacent ones (one ranged GET each). */
export type PartlyDeadBrick = BrickFate & { liveBytes: number; liveRuns: number };

/** repack: it pays and the brick is readable; not-worth-it: it does not pay; needs-thaw: it would pay, but the brick is archived. */
export type RepackVerdict = 'repack' | 'not-worth-it' | 'needs-thaw';

export interface RepackCandidate {
  id: string;
  storageClass: StorageClass;
  size: number;
  deadBytes: number;
  liveBytes: number;
  state: BrickState;
  horizonDays: number;
  /** The dead bytes' storage over the horizon. */
  saving: number;
  earlyCharge: number;
  requestCost: number;
  retrievalCost: number;
  /** saving - earlyCharge - requestCost - retrievalCost. */
  net: number;
  verdict: RepackVerdict;
}

export interface RepackPlan {
  candidates: RepackCandidate[];
  /** Net saving of the bricks that would be repacked. */
  net: number;
  /** Sealed live bytes those bricks' new bricks would hold. */
  liveBytes: number;
}

/** The cheapest thaw of one brick of an archive class: the retrieval and request fees of the cheapest tier offered. */
function cheapestThaw(prices: PriceTable, cls: StorageClass, size: number): { retrieval: number; requests: number } {
  let best: { retrieval: number; requests: number } | null = null;
  for (const tier of RESTORE_TIERS) {
    if (!prices.classes[cls].restore[tier]) continue;
    const e = estimate(prices, cls, tier, 1, size, 1);
    const cost = { retrieval: e.retrievalCost + e.copyCost, requests: e.requestCost };
    if (!best || cost.retrieval + cost.requests < best.retrieval + best.requests) best = cost;
  }
  return best ?? { retrieval: 0, requests: 0 };
}

/** The cost and saving of repacking one brick now, `ageDays` old (unknown: taken as new, the safe side). */
export function priceRepack(b: PartlyDeadBrick, state: BrickState, prices: PriceTable): RepackCandidate {
  const cls = b.storageClass;
  const p = prices.classes[cls];
  const horizonDays = Math.max(p.minimumDays, MONTH_DAYS);
  const saving = monthlyCost(b.deadBytes, cls, prices) * (horizonDays / MONTH_DAYS);
  const earlyCharge = earlyDeletionCharge(b.size, cls, b.ageDays ?? 0, prices);
  let requestCost = (b.liveRuns / 1000) * p.getPer1000 + (1 / 1000) * p.putPer1000;
  let retrievalCost = (b.liveBytes / GB) * p.retrievalPerGB;
  if (ARCHIVE_CLASSES.includes(cls)) {
    const thaw = cheapestThaw(prices, cls, b.size);
    retrievalCost += thaw.retrieval;
    requestCost += thaw.requests;
  }
  const net = saving - earlyCharge - requestCost - retrievalCost;
  const verdict: RepackVerdict = net <= 0 ? 'not-worth-it' : isReadable(state) ? 'repack' : 'needs-thaw';
  return { id: b.id, storageClass: cls, size: b.size, deadBytes: b.deadBytes, liveBytes: b.liveBytes, state, horizonDays, saving, earlyCharge, requestCost, retrievalCost, net, verdict };
}

/** Prices every partly dead brick; a brick of an archive class is HEADed for its thaw state (no brick is read). */
export async function planRepack(backend: Backend, bricks: readonly PartlyDeadBrick[], prices: PriceTable): Promise<RepackPlan> {
  const plan: RepackPlan = { candidates: [], net: 0, liveBytes: 0 };
  for (const b of bricks) {
    // The real clock: a restored copy expires in the world, whatever clock durations are counted by.
    const state = ARCHIVE_CLASSES.includes(b.storageClass) ? stateOf(await backend.stat(b.key), new Date()) : 'readable';
    const c = priceRepack(b, state, prices);
    plan.candidates.push(c);
    if (c.verdict === 'repack') {
      plan.net += c.net;
      plan.liveBytes += c.liveBytes;
    }
  }
  return plan;
}

/** A brick to rewrite: where it is, its class, and its live chunks (per the catalogue). */
export interface RepackSource {
  id: string;
  key: string;
  storageClass: StorageClass;
  live: BrickChunk[];
}

/** A brick the rewrite wrote. */
export interface WrittenBrick {
  id: string;
  storageClass: StorageClass;
  size: number;
  chunks: number;
}

/** Steps of a rewrite a test may stop the process after (see PruneStep). */
export type RepackStep = 'repack-brick-written' | 'repack-segment-written' | 'moved-written';

/** Room past the brick size for the chunk that crosses it (as ingest's packer). */
const BRICK_SLACK = 5 * 1024 * 1024;

/**
 * Rewrites the live chunks of `sources` into new bricks, in this order (a crash at any point
 * leaves every old brick readable where its indexes say, until step 3 says where else):
 * (1) the new bricks, each durable before the next is built; (2) one catalogue segment
 * naming them; (3) a forwarding record per old brick. Deleting the old bricks, after taking
 * them out of the catalogue, is prune's. A chunk that fails to open or to match its id stops
 * the rewrite before any record is written: nothing is deleted for it.
 */
export async function rewriteBricks(repo: Repository, sources: readonly RepackSource[], onStep?: (step: RepackStep, n: number) => void): Promise<WrittenBrick[]> {
  const brickSize = repo.config.brickSize;
  const written: WrittenBrick[] = [];
  const records: Buffer[] = [];
  /**
   * Where each chunk copied lies now, by id and sealed length (a chunk held by two old bricks
   * is copied once; sealed by a writer key in one, it is 40 bytes longer there, and an index
   * naming that one reads that many bytes).
   */
  const placed = new Map<string, { brick: Buffer; offset: number }>();
  const builder = new BrickBuilder(brickSize + BRICK_SLACK, 1);
  const classes = [...new Set(sources.map((s) => s.storageClass))];
  const flush = async (storageClass: StorageClass): Promise<void> => {
    if (builder.count === 0) return;
    // Version 1 (the data key's table) also for chunks a writer key sealed: readers open a chunk by its own form, whatever the brick's version.
    const brick = builder.build({ dataKey: repo.keys.data });
    // A function body: a retried upload starts again from the first piece.
    const body = async function* (): AsyncGenerator<Buffer> {
      yield* brick.parts;
    };
    await repo.backend.put(brickKey(brick.idHex), body, { storageClass, size: brick.size, sha256: brick.id });
    builder.reuse(brick.memory);
    records.push(encodeBrickRecord({ id: brick.id, size: brick.size, treeHash: brick.treeHash, chunks: brick.chunks }));
    for (const c of brick.chunks) placed.set(copyKey(c), { brick: brick.id, offset: c.offset });
    written.push({ id: brick.idHex, storageClass, size: brick.size, chunks: brick.chunks.length });
    onStep?.('repack-brick-written', written.length);
  };
  for (const cls of classes) {
    for (const src of sources) {
      if (src.storageClass !== cls) continue;
      const where = `brick ${src.id}`;
      // The live runs, one ranged read each, as the plan priced them.
      for (const read of coalesce(src.live.map((c) => ({ offset: c.offset, length: c.storedLength })), 0)) {
        const bytes = await readBrick(repo.backend, src.id, { offset: read.start, length: read.end - read.start });
        for (const k of read.chunks) {
          const c = src.live[k]!;
          if (placed.has(copyKey(c))) continue;
          const sealed = bytes.subarray(c.offset - read.start, c.offset - read.start + c.storedLength);
          try {
            if (sealed.length !== c.storedLength) throw new CorruptDataError(`${where} is truncated`);
            openChunk(repo.keys, c.id, c.plainLength, sealed, where, 'every');
          } catch (e) {
            if (e instanceof CorruptDataError || e instanceof UnsupportedFormatError) throw new CorruptDataError(`prune --repack stopped, nothing deleted: ${e.message}; run \`dtar verify --read-data\` (\`dtar prune\` without --repack still deletes dead bricks)`);
            throw e;
          }
          builder.add({ id: c.id, sealed: [sealed], plainLength: c.plainLength });
          placed.set(copyKey(c), { brick: Buffer.alloc(0), offset: -1 }); // its place once its brick is built
          if (builder.byteSize >= brickSize) await flush(cls);
        }
      }
    }
    await flush(cls);
  }
  if (records.length > 0) {
    await new Catalogue(repo.backend, repo.keys, null).writeSegment(records);
    onStep?.('repack-segment-written', 1);
  }
  let n = 0;
  for (const src of sources) {
    const moved: MovedChunk[] = src.live.map((c) => {
      const to = placed.get(copyKey(c))!;
      return { oldOffset: c.offset, newBrick: to.brick, newOffset: to.offset, storedLength: c.storedLength };
    });
    await repo.backend.put(movedKey(src.id), encodeMoved(repo.keys.data, Buffer.from(src.id, 'hex'), moved));
    onStep?.('moved-written', ++n);
  }
  return written;
}

function copyKey(c: BrickChunk): string {
  return `${c.id.toString('hex')}:${c.storedLength}`;
}
