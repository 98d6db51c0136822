/**
 * The alarm service of a cluster node: the counterpart of app/alarm-service.ts, with the same ports
 * (broker/ports.ts `BrokerAlarmPort`, app/context.ts `AlarmPort`), but no decision taken by this
 * node alone. Each input becomes a team step (team-stepper.ts) queued per team (step-queue.ts) and
 * retried until it commits; its effects are carried out (MQTT alerts through the shared bus, the
 * retained state, sounder commands, this node's hub bus) only after that commit. Deadlines are
 * fired by every node's sweeper (deadline-sweeper.ts). What must be answered at once comes from the
 * node's replica of the open alarms (alarm-replica.ts).
 *
 * The synchronous ports keep the broker path correct:
 * - `handleDeviceEvent` queues the step and returns true ("handled: its outcome will be announced");
 *   false only for an event this node already saw (a redelivery elsewhere is de-duplicated by the
 *   step: seen_events);
 * - `whenDurable(cb)` calls back once every step queued before it has committed: the PUBACK;
 * - `respond` checks the response against the replica (unknown alarm, wrong team: thrown at once),
 *   queues it and returns the alarm's current view; the engine decides under the team's lock, and a
 *   refusal found only then is logged. HTTP routes use the async variants (`respondAsync`,
 *   `resolveAsync`, `dispatchAsync`, `startDrillAsync`), which answer with the committed outcome.
 */
import type { AlarmEngine, Cause, DeviceSource, Directory, Effect, ResponseOutcome } from '../core/alarm-engine.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { Counter, Histogram, MetricsRegistry } from '../observability/metrics.ts';
import { ERROR_CODES, ForbiddenError, NotFoundError, SmokehubError } from '../protocol/errors.ts';
import type { AlarmView, DeviceEvent, DispatchState, ResponseKind, TelemetryReading } from '../protocol/schema.ts';
import type { AlarmPort, HubBus, MqttPublisher } from '../app/context.ts';
import type { BrokerAlarmPort } from '../broker/ports.ts';
import type { HubHealth } from '../app/hub-health.ts';
import { announceEffects } from '../app/announce-effects.ts';
import type { AlarmActions } from '../http/alarm-ports.ts';
import type { Responder } from '../protocol/schema.ts';
import { RetainedAlarmState } from '../app/retained-alarm-state.ts';
import { AlarmReplica, ReplicaSync } from './alarm-replica.ts';
import { DeadlineSweeper } from './deadline-sweeper.ts';
import type { PgAlarmJournal } from './pg-journal.ts';
import type { PgPool } from './pg-pool.ts';
import { StepQueue } from './step-queue.ts';
import { TeamStepper, type StepInput, type StepOptions, type StepResult } from './team-stepper.ts';

export interface ClusterAlarmServiceDeps {
  pool: PgPool;
  /** For the replica's LISTEN connection (outside the pool). */
  connectionString: string;
  journal: PgAlarmJournal;
  /** The node's one long-lived engine (its directory is `directory`). */
  engine: AlarmEngine;
  directory: Directory;
  /** This node's name (NOTIFY payloads, application_name). */
  node: string;
  mqtt: MqttPublisher;
  clock: Clock;
  bus: HubBus;
  logger: Logger;
  metrics: MetricsRegistry;
  health: HubHealth;
  devicesOf(household: string): Array<{ id: string }>;
  allHouseholds(): string[];
  /** ms between deadline sweeps (default 250). */
  sweepMs?: number;
}

/** How long an HTTP answer waits for its commit before it says 503. */
const HTTP_WAIT_MS = 10_000;
/** Device events this node remembers (a redelivery to it is answered at once). */
const RECENT_EVENTS = 10_000;

type Done = StepResult & { kind: 'done' };

export class ClusterAlarmService implements BrokerAlarmPort, AlarmPort {
  readonly replica: AlarmReplica;
  private readonly sync: ReplicaSync;
  private readonly stepper: TeamStepper;
  private readonly queue: StepQueue;
  private readonly sweeper: DeadlineSweeper;
  private readonly retained: RetainedAlarmState;
  private readonly recent = new Set<string>();
  /** Telemetry waiting for its team's step, per team (one step carries a batch). */
  private readonly telemetry = new Map<string, Array<{ src: DeviceSource; reading: TelemetryReading; at: number }>>();
  private readonly transitions: Counter;
  private readonly announced: Counter;
  private readonly fanoutSeconds: Histogram;

  constructor(private readonly d: ClusterAlarmServiceDeps) {
    this.replica = new AlarmReplica(d.directory);
    this.stepper = new TeamStepper({ pool: d.pool, journal: d.journal, engine: d.engine, node: d.node });
    this.queue = new StepQueue({
      stepper: this.stepper,
      onRetry: (team, err, attempt) => {
        if (attempt === 1 || attempt % 10 === 0) d.logger.error({ err, team, attempt }, 'ALARM STEP FAILED: not acknowledged, retrying');
      },
      onHealth: (problem) => d.health.report('journal', problem === null ? null : { message: problem, at: d.clock.now() }),
    });
    this.sweeper = new DeadlineSweeper({
      pool: d.pool,
      journal: d.journal,
      stepper: this.stepper,
      clock: d.clock,
      intervalMs: d.sweepMs,
      onFired: (team, r) => this.carryOut(team, r, performance.now()),
      onError: (err) => d.logger.warn({ err }, 'deadline sweep failed (retried at the next sweep)'),
    });
    this.sync = new ReplicaSync({
      connectionString: d.connectionString,
      journal: d.journal,
      replica: this.replica,
      node: d.node,
      onError: (err) => d.logger.warn({ err }, 'alarm replica: PostgreSQL listener'),
    });
    this.retained = new RetainedAlarmState({ engine: this.replica, mqtt: d.mqtt, clock: d.clock });
    this.transitions = d.metrics.counter('smokehub_alarm_transitions_total', 'Alarm transitions by kind of transition');
    this.announced = d.metrics.counter('smokehub_alarm_announcements_total', 'Alarm views published (per household and station)');
    this.fanoutSeconds = d.metrics.histogram(
      'smokehub_fanout_seconds',
      'Hub-side time from an input arriving to the last alert of its fan-out being handed to the broker (its commit included)',
      [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    );
    d.metrics.gauge('smokehub_journal_backlog', 'Alarm steps waiting for PostgreSQL (acknowledgements withheld)', () => this.queue.backlog);
  }

  /** Schema, replica (LISTEN and a full load), retained state, then the sweeper. */
  async start(): Promise<void> {
    await this.d.journal.migrate(() => this.d.clock.now());
    await this.sync.start();
    this.retained.publishAll(this.d.allHouseholds());
    this.sweeper.start();
  }

  async stop(): Promise<void> {
    await this.sweeper.stop();
    this.queue.stop();
    await this.sync.stop();
    this.retained.stop();
  }

  // ---- the broker's and extensions' ports ---------------------------------------------------

  handleDeviceEvent(src: DeviceSource, event: DeviceEvent, receivedAt: number): boolean {
    const key = `${src.device}\u0000${event.id}`;
    if (this.recent.has(key)) return false;
    this.recent.add(key);
    if (this.recent.size > RECENT_EVENTS) this.recent.delete(this.recent.values().next().value as string);
    const started = performance.now();
    this.run(src.team, (e, now) => e.handleDeviceEvent(src, event, now), { now: receivedAt, event: { device: src.device, id: event.id } }, started);
    return true;
  }

  /** Telemetry with a temperature or smoke value: batched per team into one step. */
  handleTelemetry(src: DeviceSource, reading: TelemetryReading, receivedAt: number): void {
    if (reading.values.temperature === undefined && reading.values.smoke === undefined) return;
    const waiting = this.telemetry.get(src.team);
    if (waiting) {
      waiting.push({ src, reading, at: receivedAt });
      return;
    }
    const batch = [{ src, reading, at: receivedAt }];
    this.telemetry.set(src.team, batch);
    const input: StepInput = (e) => {
      if (this.telemetry.get(src.team) === batch) this.telemetry.delete(src.team);
      return batch.flatMap((r) => e.handleTelemetry(r.src, r.reading, r.at));
    };
    this.run(src.team, input, { now: receivedAt }, performance.now());
  }

  /** Checked against the replica at once, decided under the team's lock (see the file's comment). */
  respond(household: string, alarmId: string, response: ResponseKind, cause: Cause): AlarmView {
    const view = this.replica.viewOf(alarmId);
    const team = this.replica.teamOf(alarmId);
    if (!view || team === undefined) throw new NotFoundError(`no open alarm ${alarmId}`);
    const mine = this.d.directory.household(household)?.team === team || (view.nearbyHouseholds ?? []).includes(household);
    if (!mine) throw new ForbiddenError(`household ${household} is not in team ${team}`);
    void this.respondAsync(household, alarmId, response, cause).catch((err) =>
      this.d.logger.warn({ err, household, alarm: alarmId, response }, 'response refused under the team lock'),
    );
    return view;
  }

  /** What the HTTP routes act through (http/alarm-ports.ts): the async variants, answered once committed. */
  actions(): AlarmActions {
    return {
      respond: (h, id, r, cause) => this.respondAsync(h, id, r, cause),
      resolve: (id, cause) => this.resolveAsync(id, cause),
      dispatch: (id, state, info, cause) => this.dispatchAsync(id, state, info, cause),
      startDrill: (h, cause) => this.startDrillAsync(h, cause),
      viewOf: (id) => this.viewOfAsync(id),
      durable: (ms) => this.durable(ms),
    };
  }

  /** Each household's first response of a drill (open or closed), from the journal. */
  async drillResponses(alarmId: string): Promise<Responder[] | undefined> {
    return (await this.d.journal.record(alarmId))?.firstResponses;
  }

  /** The station closes an alarm: queued under the team's lock, answered from the replica at once (as `respond`). */
  resolve(alarmId: string, cause: Cause): AlarmView {
    const view = this.replica.viewOf(alarmId);
    if (!view) throw new NotFoundError(`no open alarm ${alarmId}`);
    void this.resolveAsync(alarmId, cause).catch((err) => this.d.logger.warn({ err, alarm: alarmId }, 'resolution refused under the team lock'));
    return view;
  }

  async respondAsync(household: string, alarmId: string, response: ResponseKind, cause: Cause): Promise<AlarmView> {
    const team = await this.teamOf(alarmId);
    return this.outcome(alarmId, await this.decide(team, (e, now) => e.handleResponse(household, alarmId, response, now, cause)));
  }

  async resolveAsync(alarmId: string, cause: Cause): Promise<AlarmView> {
    const team = await this.teamOf(alarmId);
    return this.outcome(alarmId, await this.decide(team, (e, now) => e.resolveByStation(alarmId, now, cause)));
  }

  async dispatchAsync(alarmId: string, state: DispatchState, info: { etaMin?: number; note?: string }, cause: Cause): Promise<AlarmView> {
    const team = await this.teamOf(alarmId);
    return this.outcome(alarmId, await this.decide(team, (e, now) => e.dispatchByStation(alarmId, state, info, now, cause)));
  }

  async startDrillAsync(household: string, cause: Cause): Promise<AlarmView> {
    const team = this.d.directory.household(household)?.team;
    if (team === undefined) throw new NotFoundError(`no household ${household}`);
    const r = await this.decide(team, (e, now) => e.startDrill(household, now, cause));
    if (r.refused) throw r.refused.code === 'not_found' ? new NotFoundError(r.refused.message) : new SmokehubError(ERROR_CODES.CONFLICT, r.refused.message);
    const started = r.effects.find((e) => e.type === 'journal' && e.transition === 'drill-started');
    const drill = started?.type === 'journal' ? r.open.find((a) => a.record.id === started.record.id) : undefined;
    if (!drill) throw new SmokehubError(ERROR_CODES.CONFLICT, 'the drill did not start');
    return drill.view;
  }

  /** A timeline entry that does not change the alarm; retried until it lands. */
  note(alarmId: string, transition: string, detail: Record<string, unknown>, cause: Cause): void {
    const at = this.d.clock.now();
    void this.d.pool
      .withTransaction((tx) => this.d.journal.note(tx, alarmId, at, transition, detail, cause.by, cause.via), { attempts: Infinity })
      .catch((err) => this.d.logger.error({ err, alarm: alarmId, transition }, 'alarm note not written'));
  }

  whenDurable(cb: () => void): void {
    this.queue.whenDurable(cb);
  }

  /** Resolves once every step queued so far has committed; 503 `unavailable` after `timeoutMs`. */
  durable(timeoutMs = HTTP_WAIT_MS): Promise<void> {
    return withTimeout(this.queue.idle(), timeoutMs);
  }

  viewOf(alarmId: string): AlarmView | undefined {
    return this.replica.viewOf(alarmId);
  }

  /** Open alarms from the replica, closed ones from the journal. */
  async viewOfAsync(alarmId: string): Promise<AlarmView | undefined> {
    return this.replica.viewOf(alarmId) ?? (await this.d.journal.get(alarmId))?.view;
  }

  openViews(): AlarmView[] {
    return this.replica.openViews();
  }

  concerning(household: string): AlarmView[] {
    return this.replica.alarmsConcerning(household);
  }

  // ---- steps and their effects --------------------------------------------------------------

  /** Queues a step; carries out its effects after its commit. */
  private run(team: string, input: StepInput, opts: StepOptions, started: number): Promise<Done | null> {
    return this.queue.enqueue(team, input, opts).then(
      (r) => {
        if (r.kind !== 'done') return null;
        this.carryOut(team, r, started);
        return r;
      },
      (err) => {
        this.d.logger.warn({ err, team }, 'alarm step abandoned at stop (not acknowledged)');
        return null;
      },
    );
  }

  /** A step for an HTTP request: its committed outcome within `HTTP_WAIT_MS`. */
  private async decide(team: string, input: (e: AlarmEngine, now: number) => ResponseOutcome): Promise<Done> {
    const r = await withTimeout(this.run(team, input, { now: this.d.clock.now() }, performance.now()), HTTP_WAIT_MS);
    if (!r) throw new SmokehubError(ERROR_CODES.UNAVAILABLE, 'the alarm service is stopping');
    return r;
  }

  private async teamOf(alarmId: string): Promise<string> {
    const known = this.replica.teamOf(alarmId);
    if (known !== undefined) return known;
    const rec = await this.d.journal.record(alarmId);
    if (!rec) throw new NotFoundError(`no open alarm ${alarmId}`);
    return rec.team;
  }

  private async outcome(alarmId: string, r: Done): Promise<AlarmView> {
    const refused = r.refused;
    if (refused) {
      if (refused.code === 'not_found') {
        const closed = await this.d.journal.get(alarmId);
        if (closed) throw new SmokehubError(ERROR_CODES.CONFLICT, `alarm ${alarmId} is already ${closed.view.state}`);
        throw new NotFoundError(refused.message);
      }
      if (refused.code === 'forbidden') throw new ForbiddenError(refused.message);
      throw new SmokehubError(ERROR_CODES.CONFLICT, refused.message);
    }
    const a = [...r.open, ...r.closed].find((x) => x.record.id === alarmId);
    return a?.view ?? (await this.viewOfAsync(alarmId))!;
  }

  /**
   * After the commit: the replica first (what the catch-up and the retained state answer), then
   * each alarm's latest view once to the union of its households, commands, the retained state,
   * logs, metrics and the bus (as app/alarm-service.ts).
   */
  private carryOut(team: string, r: Done, startedAt: number): void {
    this.replica.applyTeam(
      team,
      r.open.map((a) => a.record),
      r.closed,
    );
    const effects: Effect[] = r.effects;
    const done = announceEffects(effects, this.d.mqtt, this.d.devicesOf);
    if (done.alarms > 0) {
      this.fanoutSeconds.observe((performance.now() - startedAt) / 1000);
      this.announced.inc(undefined, done.published);
      this.retained.publish(done.touched);
    }
    let transition = '';
    for (const e of effects) {
      if (e.type === 'journal') {
        transition = e.transition;
        this.transitions.inc({ transition });
        const { record: a } = e;
        this.d.logger.info(
          { alarm: a.id, team: a.team, household: a.originHousehold, state: a.state, transition, by: e.by, via: e.via, node: this.d.node, ...e.detail },
          'alarm transition',
        );
      } else if (e.type === 'announce') this.d.bus.emit('alarm-changed', e.view, transition);
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(
      () => reject(new SmokehubError(ERROR_CODES.UNAVAILABLE, 'the alarm journal (PostgreSQL) cannot be written now; the hub keeps retrying')),
      ms,
    );
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err) => {
        clearTimeout(t);
        reject(err);
      },
    );
  });
}
