/**
 * Sending the thaw: one RestoreObject per archived brick, several in flight, and the tally
 * of what S3 answered (started, already in progress, not archived after all).
 */
import type { Backend, RestoreTier } from '../store/backend';
import type { BrickStatus } from './state';

export interface RequestTally {
  started: number;
  inProgress: number;
  notArchived: number;
}

export async function requestRestores(
  backend: Backend,
  bricks: readonly BrickStatus[],
  days: number,
  tier: RestoreTier,
  opts: { concurrency?: number; onDone?: (done: number, brick: BrickStatus) => void } = {},
): Promise<RequestTally> {
  const tally: RequestTally = { started: 0, inProgress: 0, notArchived: 0 };
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < bricks.length) {
      const brick = bricks[next++]!;
      const answer = await backend.requestRestore(brick.key, days, tier);
      if (answer === 'started') tally.started++;
      else if (answer === 'in-progress') tally.inProgress++;
      else tally.notArchived++;
      opts.onDone?.(++done, brick);
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency ?? 16, bricks.length));
  await Promise.all(Array.from({ length: n }, worker));
  return tally;
}
