/**
 * A thaw, start to end: the bricks a plan needs are surveyed (HEAD each), the archived ones
 * estimated and asked for (one RestoreObject each) unless only their state is wanted or it is
 * a dry run, then, if asked, waited for until all are readable. What it finds and does is
 * reported through `events` as it goes (a command prints it) and in the report it returns.
 */
import type { Relocations } from '../brick/moved';
import { NotFoundError, NotThawedError } from '../errors';
import type { PriceTable } from '../pricing/prices';
import type { Backend, RestoreTier } from '../store/backend';
import { estimateThaw, ThawEstimate } from './estimate';
import { notThawedMessage, ThawHint } from './refusal';
import { requestRestores, RequestTally } from './request';
import { BrickStatus, StateCount, summarize, Survey, surveyNeeded } from './state';
import { waitUntilReadable, WaitOptions } from './wait';

export interface ThawOptions {
  /** Only report where the bricks stand: nothing is estimated or sent. */
  statusOnly: boolean;
  tier: RestoreTier;
  days: number;
  /** Estimate, send nothing. */
  dryRun: boolean;
  /** The prices of the estimate (unused with statusOnly). */
  prices: PriceTable | null;
  /** Then wait until every brick is readable, polling so; null: do not wait. */
  wait: Omit<WaitOptions, 'onPoll'> | null;
  /** The command that would thaw the same bricks, for messages. */
  hint: ThawHint;
}

export interface ThawReport {
  bricks: Survey;
  thaw?: {
    tier: RestoreTier;
    days: number;
    dryRun: boolean;
    toRequest: StateCount;
    estimate: ThawEstimate;
    requests: RequestTally | null;
  };
  waitedSeconds?: number;
  /** Bricks the index names that the store does not have. */
  missing: BrickStatus[];
}

export interface ThawEvents {
  /** A brick was surveyed: `done` of them, `bytes` so far. */
  onSurvey?(done: number, bytes: number): void;
  /** The bricks' state is known (statusOnly), or the estimate made, before anything is sent. */
  onPlan?(report: ThawReport): void;
  /** A restore request was answered: `done` of them, `bytes` so far. */
  onRequest?(done: number, bytes: number): void;
  /** Every request was answered (report.thaw.requests). */
  onRequested?(report: ThawReport): void;
  onPoll?: WaitOptions['onPoll'];
}

function count(statuses: readonly BrickStatus[]): StateCount {
  return { bricks: statuses.length, bytes: statuses.reduce((n, s) => n + s.size, 0) };
}

/** Thaws (or surveys) `bricks`, the ids a plan needs (thaw/plan.ts), or the bricks repacked ones' chunks moved to (surveyNeeded). */
export async function thaw(backend: Backend, relocations: Relocations, bricks: readonly string[], opts: ThawOptions, events: ThawEvents = {}): Promise<ThawReport> {
  let surveyed = 0;
  let statuses = await surveyNeeded(backend, relocations, bricks, { onDone: (n, s) => events.onSurvey?.(n, (surveyed += s.size)) });
  let report: ThawReport = { bricks: summarize(statuses), missing: [] };
  if (!opts.statusOnly) {
    const toRequest = statuses.filter((s) => s.state === 'archived');
    // Refuses a tier the class does not offer before anything is sent.
    const estimate = estimateThaw(opts.prices!, opts.tier, opts.days, toRequest);
    report = { ...report, thaw: { tier: opts.tier, days: opts.days, dryRun: opts.dryRun, toRequest: count(toRequest), estimate, requests: null } };
    events.onPlan?.(report);
    if (!opts.dryRun && toRequest.length > 0) {
      let sent = 0;
      report.thaw!.requests = await requestRestores(backend, toRequest, opts.days, opts.tier, { onDone: (n, b) => events.onRequest?.(n, (sent += b.size)) });
      events.onRequested?.(report);
      const requested = new Set(toRequest.map((s) => s.id));
      statuses = statuses.map((s) => (requested.has(s.id) ? { ...s, state: 'restoring' } : s));
    }
  } else events.onPlan?.(report);

  if (opts.wait) {
    const started = Date.now();
    statuses = await waitUntilReadable(backend, statuses, {
      ...opts.wait,
      onArchived: (archived) => new NotThawedError(notThawedMessage(archived, 0, opts.hint), archived, 0),
      onPoll: events.onPoll,
    });
    report = { ...report, bricks: summarize(statuses), waitedSeconds: Math.round((Date.now() - started) / 100) / 10 };
  }
  return { ...report, missing: statuses.filter((s) => s.state === 'missing') };
}

/** The error for bricks the index names and the store lacks, or null when there are none. */
export function missingBricksError(missing: readonly BrickStatus[]): NotFoundError | null {
  if (missing.length === 0) return null;
  return new NotFoundError(missing[0]!.key, `${missing.length === 1 ? '1 brick' : `${missing.length} bricks`} the index names ${missing.length === 1 ? 'is' : 'are'} missing from the store, first ${missing[0]!.id}`);
}
