/**
 * What the alarm and station routes need of the alarm service and its journal (ports owned by the
 * routes). A single box answers synchronously (app/alarm-service.ts over SQLite); a cluster node
 * answers with Promises (hub/cluster/cluster-alarm-service.ts: each action is one PostgreSQL step
 * under its team's lock, and its answer is the committed outcome). The routes await either.
 */
import type { Cause } from '../core/alarm-engine.ts';
import type { Responder } from '../protocol/schema.ts';
import type { AlarmView, DispatchState, ResponseKind } from '../protocol/schema.ts';
import type { AlarmQuery, AlarmRow } from '../store/alarm-journal-reader.ts';
import type { TimelineEntry } from '../store/alarm-journal.ts';

export type MaybeAsync<T> = T | Promise<T>;

export interface AlarmActions {
  /** A household's response; a typed error (not_found, forbidden, conflict) when refused. */
  respond(household: string, alarmId: string, response: ResponseKind, cause: Cause): MaybeAsync<AlarmView>;
  resolve(alarmId: string, cause: Cause): MaybeAsync<AlarmView>;
  dispatch(alarmId: string, state: DispatchState, info: { etaMin?: number; note?: string }, cause: Cause): MaybeAsync<AlarmView>;
  startDrill(household: string, cause: Cause): MaybeAsync<AlarmView>;
  /** The alarm's current view (open alarms; a closed one may answer undefined). */
  viewOf(alarmId: string): MaybeAsync<AlarmView | undefined>;
  /** Resolves once what was done so far would survive a power cut; 503 `unavailable` after the timeout. */
  durable(timeoutMs?: number): Promise<void>;
}

export interface AlarmJournalReads {
  get(id: string): MaybeAsync<AlarmRow | undefined>;
  timeline(id: string): MaybeAsync<TimelineEntry[]>;
  list(q?: AlarmQuery): MaybeAsync<AlarmRow[]>;
}

/** Each household's first response of a drill (open or closed). */
export type DrillResponses = (alarmId: string) => MaybeAsync<Responder[] | undefined>;
