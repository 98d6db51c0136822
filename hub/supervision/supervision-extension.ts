/**
 * The supervision extension: wires the pure core (supervision tracker, self-test rounds,
 * reminders, daily report) to the hub — bus listeners that only record, a cheap periodic sweep
 * for the supervision window, the scheduled jobs (weekly self-test, daily check, monthly equipment
 * reminders, daily station report), notices and the HTTP routes.
 */
import type { HubContext, HubExtension, DeviceRef } from '../app/context.ts';
import type { TimerHandle } from '../core/clock.ts';
import type { DeviceEvent, TelemetryReading } from '../protocol/schema.ts';
import type { Logger } from '../observability/logger.ts';
import { SupervisionTracker } from './supervision-tracker.ts';
import { transitionNotice } from './transition-notice.ts';
import { NoticeStore } from './notice-store.ts';
import { NoticePublisher } from './notice-publisher.ts';
import { DeviceHealthStore, type DeviceFault } from './device-health-store.ts';
import { EquipmentStore } from './equipment-store.ts';
import { JobRunner } from './job-runner.ts';
import { SelfTestRunner } from './self-test-runner.ts';
import { dailyReminders, equipmentReminders, EQUIPMENT_HORIZON_DAYS, type BatteryReading } from './reminders.ts';
import { collectDailyReport, previousLocalDate } from './report-source.ts';
import { PgAlarmJournal } from '../cluster/pg-journal.ts';
import { reportSummaryParams, reportSummaryText, type DailyReport } from './daily-report.ts';
import { registerSupervisionRoutes } from './supervision-routes.ts';
import { addDays, localDate } from '../protocol/local-time.ts';
import { yieldNow } from './cooperative.ts';

export interface SupervisionExtensionOptions {
  /** How often the supervision window is checked (default: a quarter of the window, 250 ms..5 s). */
  sweepIntervalMs?: number;
  /** How long a dropped connection may take to come back before the device is offline (default: min(5 s, window/2)). */
  disconnectGraceMs?: number;
  /** How often devices enrolled since start are picked up from the registry (default 60 s). */
  registrySyncMs?: number;
  /** Above this many transitions in one sweep (a power cut), the station gets one summary. */
  stationBatchLimit?: number;
  /** Notices older than this are deleted by the daily job (default 400 days). */
  noticeRetentionMs?: number;
}

/** The running extension's parts, for tests and for other extensions that want them. */
export interface SupervisionHandle {
  tracker: SupervisionTracker;
  jobs: JobRunner;
  selfTests: SelfTestRunner;
  notices: NoticeStore;
  health: DeviceHealthStore;
  equipment: EquipmentStore;
  /** Runs one sweep now (tests). */
  sweep(): Promise<void>;
  report(date: string): Promise<DailyReport>;
}

export { transitionNotice } from './transition-notice.ts';

/**
 * What runs once per hub (`ctx.singleton`; in a cluster, leases in PostgreSQL: docs/cluster.md):
 * the sweeps' notices (offline, restored, flapping) under `supervision`, the cron jobs under `jobs`.
 * Recording what devices say, and the routes, run on every node.
 */
export const LEASE_SUPERVISION = 'supervision';
export const LEASE_JOBS = 'jobs';

const JOB_SELF_TEST = 'self-test';
const JOB_DAILY = 'daily-check';
const JOB_EQUIPMENT = 'equipment-reminders';
const JOB_REPORT = 'daily-report';

export function supervisionExtension(opts: SupervisionExtensionOptions = {}): HubExtension & { handle: SupervisionHandle | null } {
  let ctx: HubContext | null = null;
  let log: Logger;
  let sweepTimer: TimerHandle | null = null;
  let sweeping: Promise<void> | null = null;
  let stopped = false;
  let unwatchJobs: () => void = () => {};
  let offRemote: () => void = () => {};
  let lastSync = 0;
  const batteries = new Map<string, BatteryReading>();
  const dirtyBatteries = new Map<string, BatteryReading>();
  // A fault or tamper a device reported stays open until the device passes a test (round or button).
  const faults = new Map<string, DeviceFault>();
  const dirtyFaults = new Map<string, DeviceFault | null>();

  const ext: HubExtension & { handle: SupervisionHandle | null } = {
    name: 'supervision',
    handle: null,

    start(c: HubContext) {
      ctx = c;
      stopped = false;
      const { config, clock, registry, bus, metrics } = c;
      log = c.logger.child({ module: 'supervision' });
      const windowMs = config.supervisionWindowS * 1000;
      const flapWindowMs = config.flapWindowS * 1000;
      const sweepMs = opts.sweepIntervalMs ?? Math.min(5000, Math.max(250, windowMs / 4));
      const syncMs = opts.registrySyncMs ?? 60_000;
      const stationBatchLimit = opts.stationBatchLimit ?? 50;
      const retentionMs = opts.noticeRetentionMs ?? 400 * 24 * 3600 * 1000;

      // Jobs first: a bad cron expression or timezone is a start-up ConfigError before anything runs.
      const jobs = new JobRunner({
        db: c.db,
        clock,
        logger: c.logger,
        metrics,
        timezone: config.timezone,
        catchUpDelayMs: config.catchUpDelayS * 1000,
      });

      const notices = new NoticeStore(c.db);
      const health = new DeviceHealthStore(c.db);
      const equipment = new EquipmentStore(c.db);
      const publisher = new NoticePublisher({ store: notices, mqtt: c.mqtt, bus, clock, logger: log, metrics });
      const tracker = new SupervisionTracker({
        windowMs,
        disconnectGraceMs: opts.disconnectGraceMs ?? Math.min(5000, windowMs / 2),
        flapCycles: config.flapCycles,
        flapWindowMs,
      });
      const selfTests = new SelfTestRunner({
        registry,
        mqtt: c.mqtt,
        clock,
        logger: c.logger,
        metrics,
        store: health,
        publisher,
        timeoutMs: config.selfTestTimeoutS * 1000,
        isDown: (d) => tracker.view(d)?.status === 'offline',
      });

      const offlineRows = () =>
        tracker.downDevices().map((v) => ({ team: v.team, household: v.household, device: v.device, since: v.since, flapping: v.flapping }));
      // In a cluster the alarms are in PostgreSQL's journal (this node's SQLite has none).
      const clusterJournal = c.cluster ? new PgAlarmJournal(c.cluster.pool) : null;
      const reportDeps = {
        ...{ db: c.db, registry, notices, health, equipment, timezone: config.timezone, offlineNow: offlineRows },
        ...(clusterJournal ? { alarms: (from: number, to: number) => clusterJournal.summariesRaised(from, to) } : {}),
      };
      const report = (date: string, now = clock.now()) => collectDailyReport(reportDeps, date, now);

      jobs.add({ name: JOB_SELF_TEST, cron: config.selfTestCron, run: ({ signal }) => selfTests.runRound(signal) });
      jobs.add({
        name: JOB_DAILY,
        cron: config.dailyCron,
        run: async ({ signal }) => {
          const now = clock.now();
          const r = dailyReminders({
            devices: registry.listDevices().map((d) => ({ device: d.id, household: d.household, team: d.team, kind: d.kind, enrolledAt: d.enrolledAt })),
            batteries,
            now,
            batteryLowPercent: config.batteryLowPercent,
          });
          await yieldNow();
          const sent = await publisher.publishAll(r.notices, { station: false, signal });
          // Digests concern a whole team: stored for the team leader (API) and sent to the station, never to households.
          await publisher.publishAll(
            r.digests.map((d) => d.notice),
            { station: true, signal },
          );
          const pruned = notices.prune(now - retentionMs);
          return {
            notices: sent,
            digests: r.digests.length,
            lowBattery: r.notices.filter((n) => n.notice === 'battery-low').length,
            endOfLife: r.notices.filter((n) => n.notice === 'end-of-life').length,
            prunedNotices: pruned,
          };
        },
      });
      jobs.add({
        name: JOB_EQUIPMENT,
        cron: config.equipmentCron,
        run: async ({ signal }) => {
          const today = localDate(clock.now(), config.timezone);
          const items = equipment.expiringBy(addDays(today, EQUIPMENT_HORIZON_DAYS));
          const r = equipmentReminders({ items, today });
          const sent = await publisher.publishAll(r.notices, { station: false, signal });
          await publisher.publishAll(
            r.digests.map((d) => d.notice),
            { station: true, signal },
          );
          return { notices: sent, digests: r.digests.length };
        },
      });
      jobs.add({
        name: JOB_REPORT,
        cron: config.reportCron,
        run: async ({ signal }) => {
          const now = clock.now();
          const date = previousLocalDate(now, config.timezone);
          const r = await report(date, now);
          await publisher.publishAll(
            [
              {
                notice: 'daily-report',
                severity: 'info',
                team: null,
                household: null,
                device: null,
                text: reportSummaryText(r),
                params: reportSummaryParams(r),
              },
            ],
            {
              station: true,
              signal,
            },
          );
          return { date, totals: r.totals };
        },
      });

      // Devices known at start, with what was reported about them before a restart.
      const persisted = health.loadSupervision();
      const startNow = clock.now();
      for (const d of registry.listDevices()) {
        tracker.track({ device: d.id, household: d.household, team: d.team, kind: d.kind }, startNow, persisted.get(d.id));
      }
      lastSync = startNow;
      for (const [k, v] of health.loadBatteries()) batteries.set(k, v);
      for (const [k, v] of health.loadFaults()) faults.set(k, v);
      health.latestSelfTests(); // read once now, so the first bulk listing does not pay for it
      const interrupted = health.closeUnfinishedRounds(startNow);
      if (interrupted > 0) log.warn({ rounds: interrupted }, 'self-test rounds interrupted by the last shutdown were closed');

      // Bus listeners: record only (they run on the broker's path; the bus catches and counts a throw).
      const on = <A extends unknown[]>(event: string, fn: (...args: A) => void) => {
        bus.on('supervision', event as 'notice', fn as never);
      };
      on('device-heard', (ref: DeviceRef, at: number) => tracker.heard(ref, at));
      on('device-connected', (ref: DeviceRef, at: number) => tracker.connected(ref, at));
      on('device-disconnected', (ref: DeviceRef, at: number) => tracker.disconnected(ref, at));
      on('device-status', (ref: DeviceRef, status: 'online' | 'offline', at: number) => tracker.statusReported(ref, status, at));
      const onDeviceEvent = (ref: DeviceRef, event: DeviceEvent, at: number, duplicate: boolean) => {
        if (event.type === 'test') {
          selfTests.onTestEvent(ref, at);
          if (faults.delete(ref.device)) dirtyFaults.set(ref.device, null);
        } else if ((event.type === 'fault' || event.type === 'tamper') && !duplicate) {
          const f: DeviceFault = { type: event.type, at };
          faults.set(ref.device, f);
          dirtyFaults.set(ref.device, f);
        }
      };
      const onBattery = (ref: DeviceRef, percent: number, at: number) => {
        const r = { percent, at };
        const prev = batteries.get(ref.device);
        if (prev && prev.at > r.at) return;
        batteries.set(ref.device, r);
        dirtyBatteries.set(ref.device, r);
      };
      on('device-event', onDeviceEvent);
      on('telemetry', (ref: DeviceRef, reading: TelemetryReading, at: number) => {
        const b = reading.values.battery;
        if (b !== undefined) onBattery(ref, b, reading.ts ?? at);
      });
      // A cluster node hears the devices connected to the other nodes too (cluster/device-activity-relay.ts):
      // the holder of `supervision` must not report a detector on another node as silent.
      offRemote =
        ctx.cluster?.activity.onRemote((a) => {
          if (a.kind === 'device-heard') tracker.heard(a.ref, a.at);
          else if (a.kind === 'device-connected') tracker.connected(a.ref, a.at);
          else if (a.kind === 'device-disconnected') tracker.disconnected(a.ref, a.at);
          else if (a.kind === 'device-status') tracker.statusReported(a.ref, a.status, a.at);
          else if (a.kind === 'device-event') onDeviceEvent(a.ref, a.event, a.at, a.duplicate);
          else if (a.kind === 'battery') onBattery(a.ref, a.battery, a.at);
        }) ?? (() => {});

      metrics.gauge('smokehub_devices_offline', 'Devices reported offline by supervision', () => tracker.countDown());
      metrics.gauge('smokehub_devices_flapping', 'Devices reported flapping by supervision', () => tracker.countFlapping());
      metrics.gauge('smokehub_supervised_devices', 'Devices under supervision', () => tracker.size);

      const syncRegistry = (now: number) => {
        const known = new Set<string>();
        for (const d of registry.listDevices()) {
          known.add(d.id);
          if (!tracker.has(d.id)) tracker.track({ device: d.id, household: d.household, team: d.team, kind: d.kind }, now);
        }
        for (const id of [...tracker.devices()]) if (!known.has(id)) tracker.untrack(id);
      };

      const runSweep = async () => {
        const now = clock.now();
        if (now - lastSync >= syncMs) {
          lastSync = now;
          syncRegistry(now);
        }
        // Every node records what its devices say; only the holder turns it into notices.
        const transitions = c.singleton.holds(LEASE_SUPERVISION) ? tracker.sweep(now) : [];
        health.saveSupervision(tracker.takeDirty(), now);
        if (dirtyBatteries.size > 0) {
          health.saveBatteries([...dirtyBatteries]);
          dirtyBatteries.clear();
        }
        if (dirtyFaults.size > 0) {
          health.saveFaults([...dirtyFaults]);
          dirtyFaults.clear();
        }
        selfTests.flushManual();
        if (transitions.length === 0) return;
        const drafts = transitions.map((t) => transitionNotice(t, { windowMs, flapWindowMs }));
        if (transitions.length <= stationBatchLimit) {
          publisher.publishNow(drafts, { station: true });
        } else {
          // A power cut takes a whole area down at once: every household is told, the station gets one summary.
          await publisher.publishAll(drafts, { station: false });
          const count = (k: string) => drafts.filter((d) => d.notice === k).length;
          const teams = new Set(transitions.map((t) => t.team));
          publisher.publishNow(
            [
              {
                notice: 'supervision-summary',
                severity: count('offline') + count('flapping') > 0 ? 'trouble' : 'info',
                team: null,
                household: null,
                device: null,
                text: `${count('offline')} devices went offline, ${count('restored')} came back, ${count('flapping')} are flapping, in ${teams.size} teams (${[...teams].sort().slice(0, 20).join(', ')}${teams.size > 20 ? ', …' : ''}).`,
                params: {
                  offline: count('offline'),
                  restored: count('restored'),
                  flapping: count('flapping'),
                  teams: teams.size,
                  teamList: `${[...teams].sort().slice(0, 20).join(', ')}${teams.size > 20 ? ', …' : ''}`,
                },
              },
            ],
            { station: true },
          );
        }
        log.info({ transitions: transitions.length }, 'supervision transitions reported');
      };

      const sweep = (): Promise<void> => {
        if (sweeping) return sweeping;
        sweeping = runSweep()
          .catch((err) => log.error({ err }, 'supervision sweep failed'))
          .finally(() => {
            sweeping = null;
          });
        return sweeping;
      };

      const schedule = () => {
        if (stopped) return;
        sweepTimer = clock.setTimer(sweepMs, () => {
          void sweep().finally(schedule);
        });
      };
      schedule();

      registerSupervisionRoutes(c.http, {
        registry,
        clock,
        timezone: config.timezone,
        notices,
        jobs,
        health,
        equipment,
        report: (date, now) => report(date, now),
        supervision: (d) => tracker.view(d),
        offlineDevices: () => tracker.downDevices(),
        battery: (d) => batteries.get(d),
        live: (d, now) => tracker.liveView(d, now),
        fault: (d) => faults.get(d),
      });

      // Scheduled while this node holds `jobs` (at once on a single box); on regaining it, missed runs catch up as at start.
      unwatchJobs = c.singleton.watch(LEASE_JOBS, (held) => {
        if (held) jobs.start();
        else void jobs.pause().catch((err) => log.error({ err }, 'jobs could not be paused'));
      });
      ext.handle = { tracker, jobs, selfTests, notices, health, equipment, sweep, report: (date) => report(date) };
      log.info({ devices: tracker.size, windowS: config.supervisionWindowS, sweepMs, jobs: jobs.names(), timezone: config.timezone }, 'supervision started');
    },

    async stop() {
      stopped = true;
      unwatchJobs();
      sweepTimer?.cancel();
      sweepTimer = null;
      if (!ctx) return;
      ctx.bus.removeOwner('supervision');
      offRemote();
      const h = ext.handle;
      if (!h) return;
      await h.jobs.stop();
      await sweeping;
      try {
        h.health.saveSupervision(h.tracker.takeDirty(), ctx.clock.now());
        if (dirtyBatteries.size > 0) h.health.saveBatteries([...dirtyBatteries]);
        dirtyBatteries.clear();
        if (dirtyFaults.size > 0) h.health.saveFaults([...dirtyFaults]);
        dirtyFaults.clear();
        h.selfTests.flushManual();
      } catch (err) {
        log.error({ err }, 'supervision could not save its state on stop');
      }
    },
  };
  return ext;
}
