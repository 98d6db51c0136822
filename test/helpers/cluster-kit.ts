/** Cluster "nodes" for tests of hub/cluster: each its own pool, journal, engine, stepper and sweeper. */
import { AlarmEngine, type Directory, type EngineSettings } from '../../hub/core/alarm-engine.ts';
import { systemClock, type Clock } from '../../hub/core/clock.ts';
import { PgPool } from '../../hub/cluster/pg-pool.ts';
import { PgAlarmJournal } from '../../hub/cluster/pg-journal.ts';
import { TeamStepper, type StepResult } from '../../hub/cluster/team-stepper.ts';
import { DeadlineSweeper } from '../../hub/cluster/deadline-sweeper.ts';

export const TEAMS: Record<string, string[]> = { team1: ['a', 'b', 'c'], team2: ['x', 'y', 'z'] };
export const teamOf = (h: string): string => Object.keys(TEAMS).find((t) => TEAMS[t]!.includes(h)) ?? 'none';
export const directory: Directory = {
  household: (id) => (teamOf(id) === 'none' ? undefined : { id, team: teamOf(id), name: `Nhà ${id}`, address: `${id} Lê Lợi`, lat: null, lon: null }),
  householdsOfTeam: (team) => TEAMS[team] ?? [],
};
export const src = (household: string, device = `${household}-smoke`) => ({ team: teamOf(household), household, device });

export interface TestNode {
  name: string;
  pool: PgPool;
  journal: PgAlarmJournal;
  engine: AlarmEngine;
  stepper: TeamStepper;
  sweeper: DeadlineSweeper;
  /** What this node's sweeper fired, with when. */
  fired: Array<{ team: string; at: number; result: StepResult & { kind: 'done' } }>;
  errors: unknown[];
}

export async function testNode(
  name: string,
  url: string,
  opts: { settings?: Partial<EngineSettings>; clock?: Clock; sweepMs?: number } = {},
): Promise<TestNode> {
  const errors: unknown[] = [];
  const pool = new PgPool({ connectionString: url, applicationName: name, attempts: Infinity, retryMaxMs: 200, onError: (e) => errors.push(e) });
  const journal = new PgAlarmJournal(pool);
  await journal.migrate();
  let n = 0;
  const engine = new AlarmEngine(
    { verifyWindowMs: 20_000, escalateAfterMs: 120_000, resolveQuietMs: 60_000, hushPeriodMs: 300_000, ...opts.settings },
    directory,
    () => `${name}-${++n}-${Math.random().toString(36).slice(2, 8)}`,
  );
  const stepper = new TeamStepper({ pool, journal, engine, node: name });
  const fired: TestNode['fired'] = [];
  const clock = opts.clock ?? systemClock;
  const sweeper = new DeadlineSweeper({
    pool,
    journal,
    stepper,
    clock,
    intervalMs: opts.sweepMs ?? 250,
    onFired: (team, result) => fired.push({ team, at: clock.now(), result }),
    onError: (e) => errors.push(e),
  });
  return { name, pool, journal, engine, stepper, sweeper, fired, errors };
}

export async function waitFor<T>(check: () => T | Promise<T>, ms = 5000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
