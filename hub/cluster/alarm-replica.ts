/**
 * The node's replica of the cluster's open alarms, for what must be answered at once and from
 * memory (the broker's catch-up on subscribe, `concerning`, `openViews`, `viewOf`, the retained
 * state), also while PostgreSQL is unreachable: "alarms already known are still announced".
 *
 * Kept current from two sources: this node's commits (the step's result, applied before its effects
 * are carried out), and LISTEN on `smokehub_alarms`: every step that wrote NOTIFYs its team inside
 * its transaction, so a notification arrives only for a commit, after it; the node then reloads that
 * team's open alarms (reloads of a team run one at a time, and one more runs when a notification
 * came during one, so the replica converges on the last commit). On every (re)connection of the
 * listener the whole replica is reloaded (notifications missed while it was away).
 *
 * Why not the station topic on the shared bus: it would tie the replica to Redis being up, it
 * carries views (not records: no `nearby`, no `neighboursAlerted`), and a NOTIFY is transactional —
 * sent exactly when the journal changed.
 */
import pg from 'pg';
import type { AlarmRecord, Directory } from '../core/alarm-record.ts';
import { alarmsConcerning, teamAlarmView } from '../core/alarm-views.ts';
import { OpenAlarms } from '../core/open-alarms.ts';
import type { AlarmView } from '../protocol/schema.ts';
import type { PgAlarmJournal } from './pg-journal.ts';
import { ALARM_CHANNEL, type AlarmState } from './team-stepper.ts';

/** Closed alarms' last views kept in memory (for `viewOf` right after a close). */
const CLOSED_KEPT = 1000;

export class AlarmReplica {
  private readonly open = new OpenAlarms();
  private readonly closed = new Map<string, AlarmView>();

  constructor(private readonly directory: Directory) {}

  /** The team's open alarms are now `open`; `closed` just closed. */
  applyTeam(team: string, open: AlarmRecord[], closed: AlarmState[] = []): void {
    for (const c of closed) {
      this.closed.delete(c.record.id);
      this.closed.set(c.record.id, c.view);
      if (this.closed.size > CLOSED_KEPT) this.closed.delete(this.closed.keys().next().value as string);
    }
    this.open.replaceTeam(
      team,
      open.map((r) => structuredClone(r)),
    );
  }

  /** Everything open, by team (a full reload). */
  applyAll(open: AlarmRecord[]): void {
    const teams = new Set([...this.open.values()].map((a) => a.team));
    const byTeam = new Map<string, AlarmRecord[]>();
    for (const r of open) {
      teams.add(r.team);
      byTeam.set(r.team, [...(byTeam.get(r.team) ?? []), r]);
    }
    for (const t of teams) this.applyTeam(t, byTeam.get(t) ?? []);
  }

  alarmsConcerning(household: string): AlarmView[] {
    return alarmsConcerning(household, this.open, this.directory);
  }

  openAlarms(): AlarmRecord[] {
    return this.open.all();
  }

  view(a: AlarmRecord): AlarmView {
    return teamAlarmView(a, this.open, this.directory);
  }

  openViews(): AlarmView[] {
    return this.open.all().map((a) => this.view(a));
  }

  /** An open alarm's view, or a recently closed one's (undefined: ask the journal). */
  viewOf(id: string): AlarmView | undefined {
    const a = this.open.get(id);
    return a ? this.view(a) : this.closed.get(id);
  }

  teamOf(id: string): string | undefined {
    return this.open.get(id)?.team;
  }
}

export interface ReplicaSyncDeps {
  connectionString: string;
  journal: PgAlarmJournal;
  replica: AlarmReplica;
  /** This node's name: its own notifications are already applied (its step's result) but reloaded too. */
  node: string;
  onError?(err: unknown): void;
  /** A team reloaded from another node's commit (e.g. to publish nothing: that node announced). */
  onReloaded?(team: string): void;
  /** ms before the listener reconnects (default 1000). */
  reconnectMs?: number;
}

/** LISTEN/NOTIFY and reloads that keep an AlarmReplica current (see the file's comment). */
export class ReplicaSync {
  private client: pg.Client | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly reloading = new Map<string, { again: boolean }>();
  private connected = false;
  private readonly gone = new WeakSet<pg.Client>();

  constructor(private readonly d: ReplicaSyncDeps) {}

  get listening(): boolean {
    return this.connected;
  }

  /** Connects (and keeps reconnecting) in the background; resolves after the first attempt. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const c = this.client;
    this.client = null;
    this.connected = false;
    await c?.end().catch(() => undefined);
  }

  /** Reloads one team (serialised per team, coalesced). */
  reloadTeam(team: string): void {
    const running = this.reloading.get(team);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false };
    this.reloading.set(team, state);
    void (async () => {
      do {
        state.again = false;
        try {
          const rows = await this.d.journal.openViewsOfTeam(team);
          this.d.replica.applyTeam(
            team,
            rows.map((r) => r.record),
          );
          this.d.onReloaded?.(team);
        } catch (err) {
          this.d.onError?.(err);
        }
      } while (state.again && !this.stopped);
      this.reloading.delete(team);
    })();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const c = new pg.Client({
      connectionString: this.d.connectionString,
      keepAlive: true,
      connectionTimeoutMillis: 3000,
      application_name: `${this.d.node}-listen`,
    });
    c.on('error', (err) => this.lost(c, err));
    c.on('end', () => this.lost(c, null));
    c.on('notification', (n) => {
      if (n.channel !== ALARM_CHANNEL || !n.payload) return;
      try {
        const { team } = JSON.parse(n.payload) as { team: string };
        this.reloadTeam(team);
      } catch (err) {
        this.d.onError?.(err);
      }
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${ALARM_CHANNEL}`);
      if (this.stopped) {
        await c.end();
        return;
      }
      this.client = c;
      this.connected = true;
      this.d.replica.applyAll(await this.d.journal.openRecords());
    } catch (err) {
      this.d.onError?.(err);
      this.lost(c, err);
    }
  }

  private lost(c: pg.Client, err: unknown): void {
    if (err) this.d.onError?.(err);
    // A client is lost once (its error, then its end, are one loss).
    if (this.gone.has(c)) return;
    this.gone.add(c);
    if (this.client === c) {
      this.client = null;
      this.connected = false;
    }
    c.end().catch(() => undefined);
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, this.d.reconnectMs ?? 1000);
    this.timer.unref();
  }
}
