/**
 * What the job runner decides, apart from how it schedules (node-cron, timers: job-runner.ts) and
 * records (job-history.ts). Pure: times are passed in.
 *
 * - Catch-up: a job whose scheduled time passed while the hub was off — the previous scheduled
 *   time within `lookbackMs` is at or after the job was first scheduled, and no completed run
 *   (ok or failed) started at or after it — runs once at start, unless the job opts out.
 * - Overlap: a job never runs twice at once; a run asked for (scheduled, catch-up or manual)
 *   while one is going is refused and recorded as `skipped`.
 * - Outcome: a run that threw after its abort signal fired (the hub is stopping) is `aborted`,
 *   otherwise `failed`.
 */
import { AbortedError } from './cooperative.ts';
import type { RunOutcome } from './job-history.ts';

/** How far back a missed (or the previous) scheduled time is looked for by default: 35 days (monthly jobs). */
export const DEFAULT_LOOKBACK_MS = 35 * 24 * 3600 * 1000;
/** The error kept with a run refused by the overlap rule. */
export const SKIPPED_ERROR = 'previous run still running';

export interface CatchUpInput {
  /** The job's `catchUp` setting (default true). */
  catchUp: boolean | undefined;
  /** The previous scheduled time (within the look-back), or null. */
  previous: number | null;
  /** When the hub first scheduled the job. */
  firstSeen: number;
  /** When the job's last completed (ok or failed) run started, or null. */
  lastCompletedStart: number | null;
}

/** The scheduled time a catch-up run is for, or null when nothing was missed. */
export function missedRun(c: CatchUpInput): number | null {
  if (c.catchUp === false) return null;
  const prev = c.previous;
  if (prev !== null && prev >= c.firstSeen && (c.lastCompletedStart === null || c.lastCompletedStart < prev)) return prev;
  return null;
}

/** The overlap rule: may a run start while `running`? */
export function mayStart(running: boolean): boolean {
  return !running;
}

/** How a run that threw ended. */
export function failedOutcome(err: unknown, aborted: boolean): { outcome: RunOutcome; error: string } {
  return {
    outcome: err instanceof AbortedError || aborted ? 'aborted' : 'failed',
    error: err instanceof Error ? err.message : String(err),
  };
}

/** The summary kept with a run: JSON, or null (none, or not JSON-able). */
export function summaryJson(summary: unknown): string | null {
  try {
    return summary === undefined || summary === null ? null : JSON.stringify(summary);
  } catch {
    return null;
  }
}
