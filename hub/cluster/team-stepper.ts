/**
 * One input of a team, decided once for the whole cluster: in one PostgreSQL transaction, the
 * team's advisory lock (every node serialises on it), the device event's de-duplication row, the
 * team's open alarms loaded into this node's engine (`syncTeam`), the deadlines already due fired
 * (`tick(now, team)`: a timer due before an input fires before it, as on the single box), the input,
 * the journal entries and every touched alarm's row (its `next_deadline` included), a NOTIFY for
 * the other nodes' replicas, COMMIT. Only then are the effects handed back to be carried out.
 *
 * The engine is the node's one long-lived AlarmEngine: its other state (fire evidence: recent
 * telemetry per device) stays in memory; its open alarms of a team are only trusted between the
 * sync and the end of the step (all synchronous), so a step that is rolled back leaves nothing that
 * the next step of that team would believe.
 */
import type { AlarmEngine, AlarmRecord, Effect, ResponseOutcome } from '../core/alarm-engine.ts';
import type { AlarmView } from '../protocol/schema.ts';
import type { JournalEntry, PgAlarmJournal } from './pg-journal.ts';
import type { PgPool, PgTx } from './pg-pool.ts';

/** The channel other nodes LISTEN on: a team's alarms changed (payload: `{"team","node"}`). */
export const ALARM_CHANNEL = 'smokehub_alarms';

export type StepInput = (engine: AlarmEngine, now: number) => Effect[] | ResponseOutcome;

export interface StepOptions {
  /** The input's time (a device event: when it arrived). */
  now: number;
  /** A device event: de-duplicated cluster-wide by (device, id); a duplicate is not stepped. */
  event?: { device: string; id: string };
  /** Skip the team, rather than wait, when another transaction holds its lock (the sweeper). */
  tryLock?: boolean;
  /** Attempts of the transaction (default: the pool's). */
  attempts?: number;
}

/** An alarm as the step left it: its record and the view people are shown. */
export interface AlarmState {
  record: AlarmRecord;
  view: AlarmView;
}

export type StepResult =
  | {
      kind: 'done';
      /** Every effect, in order: the journal ones are committed; announce and commands are to carry out. */
      effects: Effect[];
      /** The team's open alarms after the step. */
      open: AlarmState[];
      /** Alarms the step closed. */
      closed: AlarmState[];
      /** The input's refusal (a response to an unknown alarm…); due deadlines may still have fired. */
      refused?: Extract<ResponseOutcome, { ok: false }>;
    }
  | { kind: 'duplicate' }
  | { kind: 'busy' };

export interface TeamStepperDeps {
  pool: PgPool;
  journal: PgAlarmJournal;
  engine: AlarmEngine;
  /** This node's name (in NOTIFY payloads). */
  node: string;
}

export class TeamStepper {
  constructor(private readonly d: TeamStepperDeps) {}

  /** Runs `input` for `team` in its own transaction (retried as a whole: see pg-pool.ts). */
  step(team: string, input: StepInput, opts: StepOptions): Promise<StepResult> {
    return this.d.pool.withTransaction((tx) => this.stepIn(tx, team, input, opts), { attempts: opts.attempts });
  }

  /** The same inside a transaction the caller runs (the sweeper's, which holds the due rows). */
  async stepIn(tx: PgTx, team: string, input: StepInput, opts: StepOptions): Promise<StepResult> {
    if (opts.tryLock) {
      const { rows } = await tx.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock(hashtextextended('team:' || $1, 0)) AS ok", [team]);
      if (!rows[0]?.ok) return { kind: 'busy' };
    } else {
      await tx.query("SELECT pg_advisory_xact_lock(hashtextextended('team:' || $1, 0))", [team]);
    }
    if (opts.event && !(await this.d.journal.markEventSeen(tx, opts.event.device, opts.event.id, opts.now))) return { kind: 'duplicate' };
    const loaded = await this.d.journal.openRecordsOfTeam(tx, team);
    const plan = this.decide(team, loaded, input, opts.now);
    for (const w of plan.writes) {
      if (w.kind === 'entry') await this.d.journal.write(tx, w.entry);
      else await this.d.journal.saveAlarm(tx, w.record, w.view);
    }
    if (plan.writes.length > 0) await tx.query('SELECT pg_notify($1, $2)', [ALARM_CHANNEL, JSON.stringify({ team, node: this.d.node })]);
    return plan.result;
  }

  /** The synchronous part: sync, due deadlines, the input, and what to write. */
  private decide(team: string, loaded: AlarmRecord[], input: StepInput, now: number): { writes: Write[]; result: StepResult & { kind: 'done' } } {
    const engine = this.d.engine;
    engine.syncTeam(team, loaded);
    const before = new Map(loaded.map((r) => [r.id, JSON.stringify(r)]));
    const effects = engine.tick(now, team);
    const out = input(engine, now);
    let refused: Extract<ResponseOutcome, { ok: false }> | undefined;
    if (Array.isArray(out)) effects.push(...out);
    else if (out.ok) effects.push(...out.effects);
    else refused = out;

    const open = engine.openAlarmsOf(team);
    const final = new Map<string, AlarmRecord>();
    for (const e of effects) if (e.type === 'journal') final.set(e.record.id, e.record);
    for (const a of open) final.set(a.id, a);
    const views = new Map<string, AlarmView>();
    const viewOf = (r: AlarmRecord) => {
      const known = views.get(r.id);
      if (known) return known;
      const v = engine.view(final.get(r.id) ?? r);
      views.set(r.id, v);
      return v;
    };
    const lastEntry = new Map<string, number>();
    effects.forEach((e, i) => {
      if (e.type === 'journal') lastEntry.set(e.record.id, i);
    });
    const writes: Write[] = [];
    effects.forEach((e, i) => {
      if (e.type !== 'journal') return;
      const isLast = lastEntry.get(e.record.id) === i;
      // The row holds the alarm as the input left it (its live record when still open).
      const record = isLast ? (final.get(e.record.id) ?? e.record) : e.record;
      writes.push({ kind: 'entry', entry: { record, view: isLast ? viewOf(record) : null, transition: e.transition, detail: e.detail, by: e.by, via: e.via } });
    });
    // An alarm the input changed without a transition (a hushed device alarming again): its row too.
    for (const a of open) {
      if (!lastEntry.has(a.id) && before.get(a.id) !== JSON.stringify(a)) writes.push({ kind: 'row', record: structuredClone(a), view: viewOf(a) });
    }
    const openIds = new Set(open.map((a) => a.id));
    const state = (r: AlarmRecord): AlarmState => ({ record: structuredClone(r), view: viewOf(r) });
    const result = {
      kind: 'done' as const,
      // Journal effects stay in the list (already written: logs and the bus see every transition).
      effects,
      open: open.map(state),
      closed: [...final.values()].filter((r) => !openIds.has(r.id)).map(state),
      ...(refused ? { refused } : {}),
    };
    return { writes, result };
  }
}

type Write = { kind: 'entry'; entry: JournalEntry } | { kind: 'row'; record: AlarmRecord; view: AlarmView };
