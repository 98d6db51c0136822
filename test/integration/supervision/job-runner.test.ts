/**
 * Scheduled jobs: bad cron / timezone are clear ConfigErrors, runs are recorded (start, duration,
 * outcome, error) in `job_runs` and metrics, a job never overlaps itself, and a job missed while the
 * hub was off runs once at start. Real node-cron, real SQLite file; the clock is injected.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../../hub/store/database.ts';
import { ManualClock, systemClock } from '../../../hub/core/clock.ts';
import { MetricsRegistry } from '../../../hub/observability/metrics.ts';
import { silentLogger } from '../../../hub/observability/logger.ts';
import { ConfigError } from '../../../hub/protocol/errors.ts';
import { CronSchedule } from '../../../hub/supervision/cron-schedule.ts';
import { JobRunner } from '../../../hub/supervision/job-runner.ts';
import { sleep } from '../../../hub/supervision/cooperative.ts';
import { loadConfig } from '../../../hub/config/config.ts';

const TZ = 'Asia/Ho_Chi_Minh';
const dirs: string[] = [];
const dbs: Db[] = [];
function freshDb(): { db: Db; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-jobs-'));
  dirs.push(dir);
  const db = openDatabase(dir);
  dbs.push(db);
  return { db, dir };
}
after(() => {
  for (const db of dbs) if (db.open) db.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('a bad cron expression or timezone is a clear ConfigError naming the job', () => {
  assert.throws(
    () => new CronSchedule('schedule of job "x"', '61 * * * *', TZ),
    (e: unknown) => e instanceof ConfigError && /job "x".*"61 \* \* \* \*" is not a valid cron expression/.test(e.message),
  );
  assert.throws(
    () => new CronSchedule('schedule of job "x"', '0 9 * *', TZ),
    (e: unknown) => e instanceof ConfigError && /expected 5 or 6 fields/.test(e.message),
  );
  assert.throws(
    () => new CronSchedule('schedule of job "x"', '0 9 * * 0', 'Mars/Olympus'),
    (e: unknown) => e instanceof ConfigError && /Mars\/Olympus" is not a known timezone/.test(e.message),
  );
  const { db } = freshDb();
  const runner = new JobRunner({ db, clock: systemClock, logger: silentLogger(), metrics: new MetricsRegistry(), timezone: TZ, catchUpDelayMs: 0 });
  assert.throws(() => runner.add({ name: 'weekly', cron: 'every sunday', run: async () => null }), ConfigError);
  // and through the configuration, at start-up
  assert.throws(() => loadConfig({ flags: { 'self-test-cron': '0 25 * * 0' }, env: {} }), ConfigError);
  assert.throws(() => loadConfig({ flags: {}, env: { SMOKEHUB_TIMEZONE: 'Asia/Hanoi-ish' } }), ConfigError);
});

test('previous and next scheduled times in the hub timezone', () => {
  const weekly = new CronSchedule('w', '0 9 * * 0', TZ); // Sunday 09:00 local = 02:00Z
  const now = Date.UTC(2026, 10, 29, 2, 30); // Sunday 29 Nov 2026 09:30 local
  assert.equal(new Date(weekly.previous(now, 35 * 86400_000)!).toISOString(), '2026-11-29T02:00:00.000Z');
  assert.equal(new Date(weekly.previous(now - 3600_000, 35 * 86400_000)!).toISOString(), '2026-11-22T02:00:00.000Z');
  assert.equal(new Date(weekly.next(now)!).toISOString(), '2026-12-06T02:00:00.000Z');
  const monthly = new CronSchedule('m', '0 9 1 * *', TZ);
  assert.equal(new Date(monthly.previous(now, 35 * 86400_000)!).toISOString(), '2026-11-01T02:00:00.000Z');
  assert.equal(monthly.previous(now, 10 * 86400_000), null, 'outside the look-back');
  const everySecond = new CronSchedule('s', '*/10 * * * * *', TZ);
  assert.equal(everySecond.previous(Date.UTC(2026, 0, 1, 0, 0, 25, 500), 60_000), Date.UTC(2026, 0, 1, 0, 0, 20));
});

test('runs are recorded with duration, outcome and error, and exposed in list() and metrics', async () => {
  const { db } = freshDb();
  const metrics = new MetricsRegistry();
  const runner = new JobRunner({ db, clock: systemClock, logger: silentLogger(), metrics, timezone: TZ, catchUpDelayMs: 0 });
  let n = 0;
  runner.add({ name: 'ok-job', cron: '0 9 * * 0', catchUp: false, run: async () => ({ handled: ++n }) });
  runner.add({
    name: 'bad-job',
    cron: '0 9 * * 0',
    catchUp: false,
    run: async () => {
      throw new Error('disk on fire');
    },
  });
  runner.start();
  try {
    const ok = await runner.runNow('ok-job');
    assert.equal(ok.outcome, 'ok');
    assert.deepEqual(ok.summary, { handled: 1 });
    assert.ok(ok.durationMs! >= 0);
    const bad = await runner.runNow('bad-job');
    assert.equal(bad.outcome, 'failed');
    assert.equal(bad.error, 'disk on fire');
    const rows = db.prepare('SELECT job, outcome, error, started_at, finished_at, duration_ms FROM job_runs ORDER BY id').all() as any[];
    assert.deepEqual(
      rows.map((r) => [r.job, r.outcome, r.error]),
      [
        ['ok-job', 'ok', null],
        ['bad-job', 'failed', 'disk on fire'],
      ],
    );
    assert.ok(rows.every((r) => r.finished_at >= r.started_at && r.duration_ms !== null));
    const info = runner.list();
    const okInfo = info.find((j) => j.name === 'ok-job')!;
    assert.equal(okInfo.timezone, TZ);
    assert.equal(okInfo.lastRun?.outcome, 'ok');
    assert.ok(okInfo.nextRunAt! > Date.now());
    const text = await metrics.render();
    assert.match(text, /smokehub_job_runs_total\{job="ok-job",outcome="ok"\} 1/);
    assert.match(text, /smokehub_job_runs_total\{job="bad-job",outcome="failed"\} 1/);
    assert.match(text, /smokehub_job_duration_seconds_count\{job="ok-job"\} 1/);
  } finally {
    await runner.stop();
  }
});

test('scheduled runs fire on time and a slow job never overlaps itself (skipped runs are recorded)', async () => {
  const { db } = freshDb();
  const runner = new JobRunner({ db, clock: systemClock, logger: silentLogger(), metrics: new MetricsRegistry(), timezone: TZ, catchUpDelayMs: 0 });
  let concurrent = 0;
  let maxConcurrent = 0;
  let runs = 0;
  runner.add({
    name: 'slow',
    cron: '* * * * * *', // every second
    catchUp: false,
    run: async ({ signal }) => {
      concurrent++;
      runs++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      try {
        await sleep(2300, signal);
      } finally {
        concurrent--;
      }
      return null;
    },
  });
  runner.start();
  try {
    await sleep(1800);
    // a manual run while the scheduled one is going is refused too
    const manual = await runner.runNow('slow');
    assert.equal(manual.outcome, 'skipped');
    await sleep(1800);
  } finally {
    await runner.stop();
  }
  assert.equal(maxConcurrent, 1, 'never two runs at once');
  assert.ok(runs >= 1 && runs <= 2, `runs: ${runs}`);
  const outcomes = (db.prepare('SELECT outcome, reason FROM job_runs ORDER BY id').all() as any[]).map((r) => `${r.reason}:${r.outcome}`);
  assert.ok(outcomes.includes('scheduled:ok'), outcomes.join(','));
  assert.ok(outcomes.filter((o) => o === 'scheduled:skipped').length >= 1, outcomes.join(','));
  assert.ok(outcomes.includes('manual:skipped'));
});

test('a job due while the hub was off runs once at start; not when it already ran; an interrupted run is redone', async () => {
  const { db } = freshDb();
  const weekMs = 7 * 86400_000;
  // Hub first started two weeks ago, then was off on Sunday 09:00; now Sunday 10:00 local.
  const now = Date.UTC(2026, 10, 29, 3, 0);
  const clock = new ManualClock(now - 2 * weekMs);
  const mk = () => new JobRunner({ db, clock, logger: silentLogger(), metrics: new MetricsRegistry(), timezone: TZ, catchUpDelayMs: 60_000 });
  const calls: Array<{ reason: string; scheduledFor: number | null }> = [];
  const def = {
    name: 'self-test',
    cron: '0 9 * * 0',
    run: async (c: { reason: string; scheduledFor: number | null }) => {
      calls.push({ reason: c.reason, scheduledFor: c.scheduledFor });
      return null;
    },
  };

  // first start ever, 2 weeks ago (a Sunday at 10:00): nothing is "missed" before the hub existed
  let r = mk();
  r.add(def);
  r.start();
  clock.advance(120_000);
  await r.stop();
  assert.equal(calls.length, 0);

  // it ran last week at 09:00 (recorded), then the hub was off over this Sunday 09:00
  db.prepare(
    "INSERT INTO job_runs (job, reason, scheduled_for, started_at, finished_at, duration_ms, outcome) VALUES ('self-test', 'scheduled', ?, ?, ?, 5, 'ok')",
  ).run(now - weekMs - 3600_000, now - weekMs - 3600_000, now - weekMs - 3600_000 + 5);
  clock.advance(now - clock.now());
  r = mk();
  r.add(def);
  r.start();
  clock.advance(59_000);
  assert.equal(calls.length, 0, 'waits the catch-up delay (devices reconnect first)');
  clock.advance(2000);
  await r.idle('self-test');
  assert.deepEqual(calls, [{ reason: 'catch-up', scheduledFor: Date.UTC(2026, 10, 29, 2, 0) }]);
  await r.stop();

  // restarted again the same morning: it already ran for this Sunday, nothing to catch up
  r = mk();
  r.add(def);
  r.start();
  clock.advance(120_000);
  await r.stop();
  assert.equal(calls.length, 1, 'runs once, not at every start');

  // a run cut short by a crash (still "running") does not count: it is marked interrupted and redone
  db.prepare("UPDATE job_runs SET outcome = 'running', finished_at = NULL WHERE reason = 'catch-up'").run();
  r = mk();
  r.add(def);
  r.start();
  clock.advance(61_000);
  await r.idle('self-test');
  await r.stop();
  assert.equal(calls.length, 2);
  const outcomes = (db.prepare("SELECT outcome FROM job_runs WHERE job = 'self-test' ORDER BY id").all() as any[]).map((x) => x.outcome);
  assert.deepEqual(outcomes, ['ok', 'interrupted', 'ok']);
});

test("list() looks back as far as the runner's lookbackMs (a yearly job's previous time; none within a short look-back)", async () => {
  const clock = new ManualClock(Date.UTC(2026, 5, 15, 3, 0));
  const mk = (lookbackMs?: number) => {
    const r = new JobRunner({ db: freshDb().db, clock, logger: silentLogger(), metrics: new MetricsRegistry(), timezone: TZ, catchUpDelayMs: 0, lookbackMs });
    r.add({ name: 'yearly', cron: '0 9 1 1 *', catchUp: false, run: async () => ({}) });
    return r;
  };
  const long = mk(400 * 24 * 3600 * 1000);
  const short = mk(24 * 3600 * 1000);
  try {
    // 1 January 2026, 09:00 in Hanoi = 02:00 UTC.
    assert.equal(long.list()[0]!.previousScheduledAt, Date.UTC(2026, 0, 1, 2, 0));
    assert.equal(short.list()[0]!.previousScheduledAt, null, 'nothing within a day');
  } finally {
    await long.stop();
    await short.stop();
  }
});

test('next/previous agree with a minute-by-minute scan of node-cron matching (DST zone and tokens included)', () => {
  const cases: Array<[string, string, number]> = [
    ['0 9 * * 0', TZ, Date.UTC(2026, 10, 25, 5, 17)],
    ['*/15 8-10 * * 1-5', TZ, Date.UTC(2026, 10, 27, 4, 7)],
    ['30 1 * * *', 'Europe/Paris', Date.UTC(2026, 2, 28, 12, 0)],
    ['0 9 L * *', TZ, Date.UTC(2026, 1, 20, 0, 0)],
    ['5 0 * * *', TZ, Date.UTC(2026, 11, 31, 17, 4)],
  ];
  for (const [expr, tz, at] of cases) {
    const s = new CronSchedule('t', expr, tz);
    let bruteNext: number | null = null;
    for (let t = Math.floor(at / 60000) * 60000 + 60000; t < at + 40 * 86400_000; t += 60000)
      if (s.matches(t)) {
        bruteNext = t;
        break;
      }
    let brutePrev: number | null = null;
    for (let t = Math.floor(at / 60000) * 60000; t > at - 40 * 86400_000; t -= 60000)
      if (s.matches(t)) {
        brutePrev = t;
        break;
      }
    assert.equal(s.next(at), bruteNext, `next of ${expr} in ${tz}`);
    assert.equal(s.previous(at, 40 * 86400_000), brutePrev, `previous of ${expr} in ${tz}`);
  }
});
