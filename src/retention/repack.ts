/**
 * Repack planning: whether rewriting the live chunks of a partly dead brick into a new brick
 * pays for itself, from the one price table (src/pricing/prices.ts).
 *
 * Over the brick's class horizon (its minimum storage duration, at least a month: what the
 * new brick commits to), repacking saves the storage of its dead bytes, and costs the
 * early deletion of the old brick, the requests (ranged GETs of its live runs, the PUT of
 * the new brick) and the retrieval: per GB read for Standard-IA and Glacier IR, a thaw of
 * the whole brick at the cheapest tier for Glacier Flexible Retrieval and Deep Archive.
 * The live bytes cost the same in the old brick or the new one, so they do not count.
 * A brick of an archive class that is not readable now (src/thaw/state.ts) is never
 * repacked: `dtar thaw` makes it readable, at a cost it plans.
 */
import { earlyDeletionCharge, GB, monthlyCost, MONTH_DAYS, PriceTable, RESTORE_TIERS } from '../pricing/prices';
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
