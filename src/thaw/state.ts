/**
 * Where each brick stands, from HeadObject: readable (not in an archive class), archived,
 * being restored, restored (readable until an expiry date), or missing. The one place that
 * reads S3's storage class and `x-amz-restore` into a thaw state.
 */
import { brickKey } from '../brick/format';
import { MAX_HOPS, Relocations } from '../brick/moved';
import type { Backend, ObjectInfo, StorageClass } from '../store/backend';

/** Classes whose objects must be restored before a GET succeeds (GLACIER_IR reads at once). */
export const ARCHIVE_CLASSES: readonly StorageClass[] = ['GLACIER', 'DEEP_ARCHIVE'];

export type BrickState = 'readable' | 'restored' | 'restoring' | 'archived' | 'missing';

export const BRICK_STATES: readonly BrickState[] = ['readable', 'restored', 'restoring', 'archived', 'missing'];

export interface BrickStatus {
  /** Brick id, hex. */
  id: string;
  key: string;
  state: BrickState;
  /** Stored size in bytes (0 when missing): what a retrieval is billed on. */
  size: number;
  /** Absent for backends without classes (local) and for missing bricks. */
  storageClass?: StorageClass;
  /** For `restored`: when the readable copy goes away. */
  expiry?: Date;
}

export function stateOf(info: ObjectInfo | null, now: Date): BrickState {
  if (info === null) return 'missing';
  if (info.storageClass === undefined || !ARCHIVE_CLASSES.includes(info.storageClass)) return 'readable';
  if (!info.restore) return 'archived';
  if (info.restore.ongoing) return 'restoring';
  // A copy past its expiry is being removed; S3 may still say so for a while.
  if (info.restore.expiry !== undefined && info.restore.expiry <= now) return 'archived';
  return 'restored';
}

/** True when a GET of the brick succeeds now. */
export function isReadable(state: BrickState): boolean {
  return state === 'readable' || state === 'restored';
}

/** HEADs every brick, `concurrency` at a time (the backend may bound it further). */
export async function surveyBricks(
  backend: Backend,
  ids: readonly string[],
  opts: { concurrency?: number; onDone?: (done: number, status: BrickStatus) => void } = {},
): Promise<BrickStatus[]> {
  const out = new Array<BrickStatus>(ids.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const i = next++;
      const id = ids[i]!;
      const key = brickKey(id);
      const info = await backend.stat(key);
      const status: BrickStatus = { id, key, state: stateOf(info, new Date()), size: info?.size ?? 0 };
      if (info?.storageClass !== undefined) status.storageClass = info.storageClass;
      if (status.state === 'restored' && info?.restore?.expiry !== undefined) status.expiry = info.restore.expiry;
      out[i] = status;
      opts.onDone?.(++done, status);
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency ?? 32, ids.length));
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}

/**
 * Surveys the bricks `ids` as an index names them: one missing because `prune --repack`
 * rewrote it stands for the bricks its forwarding record (src/brick/moved.ts) sends its
 * chunks to, followed as far as they go. All of them: the plan knows bricks, not the chunks
 * a selection reads of each, so a thaw may ask for a new brick the selection does not need.
 */
export async function surveyNeeded(
  backend: Backend,
  relocations: Relocations,
  ids: readonly string[],
  opts: { onDone?: (done: number, status: BrickStatus) => void } = {},
): Promise<BrickStatus[]> {
  const seen = new Set(ids);
  const out: BrickStatus[] = [];
  let done = 0;
  for (let wave = ids, hops = 0; wave.length > 0; hops++) {
    const next: string[] = [];
    for (const s of await surveyBricks(backend, wave, { onDone: (_, status) => opts.onDone?.(++done, status) })) {
      const record = s.state === 'missing' && hops < MAX_HOPS ? await relocations.record(s.id) : null;
      if (!record) {
        out.push(s);
        continue;
      }
      for (const m of record.values()) {
        const to = m.newBrick.toString('hex');
        if (seen.has(to)) continue;
        seen.add(to);
        next.push(to);
      }
    }
    wave = next;
  }
  return out;
}

export interface StateCount {
  bricks: number;
  bytes: number;
}

export interface Survey {
  bricks: number;
  bytes: number;
  byState: Record<BrickState, StateCount>;
  /** Earliest expiry among restored bricks: when the first of them stops being readable. */
  readableUntil?: Date;
}

export function summarize(statuses: readonly BrickStatus[]): Survey {
  const byState = Object.fromEntries(BRICK_STATES.map((s) => [s, { bricks: 0, bytes: 0 }])) as Record<BrickState, StateCount>;
  const survey: Survey = { bricks: statuses.length, bytes: 0, byState };
  for (const s of statuses) {
    byState[s.state].bricks++;
    byState[s.state].bytes += s.size;
    survey.bytes += s.size;
    if (s.expiry && (survey.readableUntil === undefined || s.expiry < survey.readableUntil)) survey.readableUntil = s.expiry;
  }
  return survey;
}
