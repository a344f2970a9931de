/**
 * Waiting for a thaw: polls the bricks not yet readable with HeadObject, the interval
 * doubling from the first up to a ceiling (restores take minutes to days, and each poll
 * costs a request per brick), until all are readable or the time limit is reached.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NotFoundError, ThawTimeoutError } from '../errors';
import type { Backend } from '../store/backend';
import { BrickStatus, isReadable, surveyBricks } from './state';

export interface WaitOptions {
  /** First interval between polls. */
  pollMs: number;
  /** Longest interval between polls. */
  maxPollMs: number;
  /** Give up after this long. */
  timeoutMs: number;
  /** After each poll: bricks and bytes readable so far, and the wait before the next poll (null when done). */
  onPoll?: (p: { readable: number; total: number; readableBytes: number; totalBytes: number; nextMs: number | null }) => void;
}

/**
 * Resolves with the final statuses once every brick is readable. Throws ThawTimeoutError
 * when time runs out, and `onArchived`'s error when a brick is archived with no restore
 * running (never requested, or its copy expired), as waiting would then never end.
 */
export async function waitUntilReadable(
  backend: Backend,
  statuses: readonly BrickStatus[],
  opts: WaitOptions & { onArchived: (archived: number) => Error },
): Promise<BrickStatus[]> {
  const current = [...statuses];
  const totalBytes = current.reduce((n, s) => n + s.size, 0);
  const start = Date.now();
  let interval = opts.pollMs;
  for (;;) {
    const pending = current.map((s, i) => ({ s, i })).filter(({ s }) => !isReadable(s.state));
    const missing = pending.find(({ s }) => s.state === 'missing');
    if (missing) throw new NotFoundError(missing.s.key, `brick ${missing.s.id} is missing from the store`);
    const archived = pending.filter(({ s }) => s.state === 'archived').length;
    if (archived > 0) throw opts.onArchived(archived);
    const readable = current.length - pending.length;
    const readableBytes = totalBytes - pending.reduce((n, { s }) => n + s.size, 0);
    if (pending.length === 0) {
      opts.onPoll?.({ readable, total: current.length, readableBytes, totalBytes, nextMs: null });
      return current;
    }
    const left = opts.timeoutMs - (Date.now() - start);
    if (left <= 0) {
      throw new ThawTimeoutError(
        `gave up waiting after ${Math.round((Date.now() - start) / 1000)} s: ${pending.length} of ${current.length} bricks are still being restored`,
      );
    }
    const wait = Math.min(interval, left);
    opts.onPoll?.({ readable, total: current.length, readableBytes, totalBytes, nextMs: wait });
    await sleep(wait);
    interval = Math.min(interval * 2, Math.max(opts.maxPollMs, opts.pollMs));
    const fresh = await surveyBricks(backend, pending.map(({ s }) => s.id));
    fresh.forEach((s, k) => (current[pending[k]!.i] = s));
  }
}
