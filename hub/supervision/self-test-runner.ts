/**
 * Runs the weekly self-test: sends `{"cmd":"test"}` on every detector's `cmd` topic, collects the
 * `test` events that come back until the answer timeout, stores each device's result and notifies
 * the household (and through its topic, the team leader) of each failure. A `test` event outside a
 * round (someone pressed the test button) is recorded as a passed manual test.
 * A self-test never opens an alarm: the alarm engine ignores `test` events.
 */
import type { MqttPublisher } from '../app/context.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { Counter, MetricsRegistry } from '../observability/metrics.ts';
import type { RegistryStore } from '../store/registry-types.ts';
import { topics } from '../protocol/topics.ts';
import { SelfTestRound, SELF_TEST_KINDS, type ExpectedDevice, type SelfTestResult } from './self-test-round.ts';
import type { DeviceHealthStore } from './device-health-store.ts';
import type { NoticePublisher } from './notice-publisher.ts';
import type { NoticeDraft } from './reminders.ts';
import { AbortedError, CHUNK_SIZE, forEachChunk, throwIfAborted, yieldNow } from './cooperative.ts';

export interface SelfTestRunnerDeps {
  registry: RegistryStore;
  mqtt: MqttPublisher;
  clock: Clock;
  logger: Logger;
  metrics: MetricsRegistry;
  store: DeviceHealthStore;
  publisher: NoticePublisher;
  timeoutMs: number;
  /** Whether supervision currently reports the device offline. */
  isDown(device: string): boolean;
}

export interface SelfTestSummary {
  round: string;
  expected: number;
  passed: number;
  failed: number;
  offline: number;
}

export class SelfTestRunner {
  private round: SelfTestRound | null = null;
  private wake: (() => void) | null = null;
  private manual: SelfTestResult[] = [];
  private readonly results: Counter;
  private readonly log: Logger;

  constructor(private readonly d: SelfTestRunnerDeps) {
    this.log = d.logger.child({ module: 'self-test' });
    this.results = d.metrics.counter('smokehub_self_test_results_total', 'Self-test results by outcome (passed, failed, manual)');
  }

  get current(): SelfTestRound | null {
    return this.round;
  }

  /** A `test` event from a device (bus listener: quick, no I/O). */
  onTestEvent(ref: { device: string; household: string; team: string; kind: ExpectedDevice['kind'] }, at: number): void {
    const r = this.round;
    if (r && r.expects(ref.device)) {
      const outcome = r.answer(ref.device, at);
      if (outcome === 'accepted' && r.isComplete()) this.wake?.();
      if (outcome !== 'late') return;
    }
    this.manual.push({ device: ref.device, household: ref.household, team: ref.team, kind: ref.kind, outcome: 'passed', reason: null, answeredAt: at });
  }

  /** Stores manual tests received since the last call (called from the supervision sweep). */
  flushManual(): number {
    if (this.manual.length === 0) return 0;
    const batch = this.manual;
    this.manual = [];
    for (const m of batch) this.d.store.saveResults(null, m.answeredAt!, [m]);
    this.results.inc({ outcome: 'manual' }, batch.length);
    return batch.length;
  }

  /** One whole round; resolves after the answer timeout (or as soon as everyone answered). */
  async runRound(signal: AbortSignal): Promise<SelfTestSummary> {
    if (this.round) throw new Error('a self-test round is already running');
    const startedAt = this.d.clock.now();
    const id = `ST${startedAt.toString(36)}`;
    const expected: ExpectedDevice[] = [];
    for (const dev of this.d.registry.listDevices()) {
      // A Zigbee detector has no `cmd` topic: its test is the button (a `test: true` state counts).
      if (!SELF_TEST_KINDS.includes(dev.kind) || dev.gateway) continue;
      expected.push({ device: dev.id, household: dev.household, team: dev.team, kind: dev.kind, offlineAtStart: this.d.isDown(dev.id) });
    }
    const round = new SelfTestRound(id, startedAt, startedAt + this.d.timeoutMs, expected);
    this.d.store.beginRound(id, startedAt, round.deadline, expected.length);
    this.round = round;
    this.log.info({ round: id, detectors: expected.length, timeoutMs: this.d.timeoutMs }, 'self-test round started');
    try {
      const cmd = JSON.stringify({ cmd: 'test', round: id });
      await forEachChunk(
        expected,
        (chunk) => {
          for (const e of chunk) this.d.mqtt.publish(topics.device(e.household, e.device, 'cmd'), cmd, { qos: 1 });
        },
        { signal },
      );
      await this.waitForAnswers(round, signal);
    } finally {
      this.round = null;
      this.wake = null;
    }

    const finishedAt = this.d.clock.now();
    const results = round.results();
    await forEachChunk(results, (chunk) => this.d.store.saveResults(id, startedAt, chunk), { size: CHUNK_SIZE });
    const s = round.summary();
    this.d.store.finishRound(id, finishedAt, s.passed, s.failed);
    this.results.inc({ outcome: 'passed' }, s.passed);
    this.results.inc({ outcome: 'failed' }, s.failed);

    const notices: NoticeDraft[] = results
      .filter((r) => r.outcome === 'failed')
      .map((r) => ({
        notice: 'self-test-failed',
        severity: 'trouble',
        team: r.team,
        household: r.household,
        device: r.device,
        text:
          r.reason === 'offline'
            ? `Weekly self-test: ${r.kind} detector ${r.device} could not be tested because it is offline. Check its power and connection.`
            : `Weekly self-test: ${r.kind} detector ${r.device} did not answer within ${Math.round(this.d.timeoutMs / 1000)} s. Press its test button and check it.`,
        params: { kind: r.kind, reason: r.reason === 'offline' ? 'offline' : 'no-answer', seconds: Math.round(this.d.timeoutMs / 1000) },
      }));
    await yieldNow();
    // Failures go to the household (and its team leader); the station reads them in the daily report.
    await this.d.publisher.publishAll(notices, { station: false });
    const offline = results.filter((r) => r.reason === 'offline').length;
    this.log.info({ round: id, ...s, offline }, 'self-test round finished');
    return { round: id, expected: s.expected, passed: s.passed, failed: s.failed, offline };
  }

  private waitForAnswers(round: SelfTestRound, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      throwIfAborted(signal);
      let timer: { cancel(): void } | null = null;
      const done = () => {
        timer?.cancel();
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        timer?.cancel();
        reject(new AbortedError());
      };
      if (round.isComplete()) return done();
      this.wake = done;
      timer = this.d.clock.setTimer(Math.max(0, round.deadline - this.d.clock.now()), done);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
