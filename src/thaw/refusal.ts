/**
 * The one message for data that is archived in Glacier and not yet thawed, for every
 * command that reads bricks (restore, cat, extract, verify --read-data, mount): how many
 * of the bricks the command needs are not readable, and the `dtar thaw` command line that
 * fixes it. Commands wrap their reading in `refuseArchived`; a generic 403 never reaches
 * the user.
 */
import { Relocations } from '../brick/moved';
import type { StoreKeys } from '../crypto/keys';
import { ArchivedError, NotThawedError } from '../errors';
import type { IndexItem } from '../index/reader';
import type { Backend } from '../store/backend';
import { planForPaths } from './plan';
import { summarize, surveyNeeded } from './state';

/** What counting the bricks needs: the store, and the data key that opens forwarding records of repacked bricks. */
export interface ReadStore {
  backend: Backend;
  keys: Pick<StoreKeys, 'data'>;
}

/** The store options a command was given, echoed into the suggested thaw command. */
export interface StoreArgs {
  store?: string;
  s3Endpoint?: string;
  s3Region?: string;
  s3PathStyle?: boolean;
}

export interface ThawHint {
  /** The index as the user named it. */
  index: string;
  /** The member paths the command reads; empty for the whole archive. */
  paths: readonly string[];
  store?: StoreArgs;
}

/** `dtar thaw [--status --wait] [store options] INDEX [PATH...]`, quoted for a POSIX shell. */
export function thawCommandLine(hint: ThawHint, wait = false): string {
  const args = ['dtar', 'thaw'];
  if (wait) args.push('--status', '--wait');
  const s = hint.store ?? {};
  if (s.store !== undefined) args.push('--store', s.store);
  if (s.s3Endpoint !== undefined) args.push('--s3-endpoint', s.s3Endpoint);
  if (s.s3Region !== undefined) args.push('--s3-region', s.s3Region);
  if (s.s3PathStyle) args.push('--s3-path-style');
  args.push(hint.index);
  return args.concat(hint.paths).map(shellQuote).join(' ');
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_\-.,/:@%+=]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function bricks(n: number): string {
  return n === 1 ? '1 brick' : `${n} bricks`;
}

export function notThawedMessage(archived: number, restoring: number, hint: ThawHint): string {
  if (archived > 0) {
    const also = restoring > 0 ? ` (${restoring} more being restored)` : '';
    return `${bricks(archived)} needed here ${archived === 1 ? 'is' : 'are'} archived in Glacier and not yet thawed${also}; run: ${thawCommandLine(hint)}`;
  }
  if (restoring > 0) {
    return `${bricks(restoring)} needed here ${restoring === 1 ? 'is' : 'are'} still being thawed from Glacier; wait with: ${thawCommandLine(hint, true)}`;
  }
  // Thawed between the failed read and the check: say so rather than count zero.
  return `bricks needed here were archived in Glacier when read and look readable now; check with: ${thawCommandLine(hint, true)}, then retry`;
}

/**
 * Counts the bricks the hint's paths need that are not readable (one HEAD per brick) and
 * builds the refusal. Should the count itself fail, the refusal still names the fix.
 */
export async function explainArchived(store: ReadStore, hint: ThawHint, items: () => AsyncIterable<IndexItem>): Promise<NotThawedError> {
  try {
    const plan = await planForPaths(items, hint.paths);
    const survey = summarize(await surveyNeeded(store.backend, Relocations.of(store.backend, store.keys.data), plan.bricks.map((b) => b.id)));
    const archived = survey.byState.archived.bricks;
    const restoring = survey.byState.restoring.bricks;
    return new NotThawedError(notThawedMessage(archived, restoring, hint), archived, restoring);
  } catch {
    return new NotThawedError(`bricks needed here are archived in Glacier and not yet thawed; run: ${thawCommandLine(hint)}`, 1, 0);
  }
}

/** Runs `read`; an ArchivedError from it becomes the NotThawedError for `hint`, counted from the index's `items`. */
export async function refuseArchived<T>(store: ReadStore, hint: ThawHint, items: () => AsyncIterable<IndexItem>, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (!(e instanceof ArchivedError)) throw e;
    throw await explainArchived(store, hint, items);
  }
}
