/**
 * One self-test round as a pure value: the detectors expected to answer, the answers received,
 * the deadline. `answer()` records a `test` event; `results()` says who passed and who failed.
 */
import type { DeviceKind } from '../protocol/schema.ts';

/** Device kinds that are sent `{"cmd":"test"}`: the detectors. */
export const SELF_TEST_KINDS: readonly DeviceKind[] = ['smoke', 'heat', 'co'];

export interface ExpectedDevice {
  device: string;
  household: string;
  team: string;
  kind: DeviceKind;
  /** The device was reported offline when the round began (it cannot answer). */
  offlineAtStart: boolean;
}

export type AnswerOutcome = 'accepted' | 'duplicate' | 'late' | 'unexpected';
export type SelfTestOutcome = 'passed' | 'failed';
export type FailureReason = 'no-answer' | 'offline';

export interface SelfTestResult {
  device: string;
  household: string;
  team: string;
  kind: DeviceKind;
  outcome: SelfTestOutcome;
  reason: FailureReason | null;
  answeredAt: number | null;
}

export class SelfTestRound {
  private readonly expected = new Map<string, ExpectedDevice>();
  private readonly answers = new Map<string, number>();

  constructor(
    readonly id: string,
    readonly startedAt: number,
    readonly deadline: number,
    devices: Iterable<ExpectedDevice>,
  ) {
    if (deadline < startedAt) throw new RangeError('deadline before start');
    for (const d of devices) this.expected.set(d.device, d);
  }

  get expectedCount(): number {
    return this.expected.size;
  }
  get answeredCount(): number {
    return this.answers.size;
  }

  expects(device: string): boolean {
    return this.expected.has(device);
  }

  /** Records a `test` event from `device` received at `at`. */
  answer(device: string, at: number): AnswerOutcome {
    if (!this.expected.has(device)) return 'unexpected';
    if (at > this.deadline) return 'late';
    if (this.answers.has(device)) return 'duplicate';
    this.answers.set(device, at);
    return 'accepted';
  }

  /** Every expected device has answered. */
  isComplete(): boolean {
    return this.answers.size === this.expected.size;
  }

  isDue(now: number): boolean {
    return now >= this.deadline || this.isComplete();
  }

  /** Results, one per expected device, in the order they were expected. */
  results(): SelfTestResult[] {
    const out: SelfTestResult[] = [];
    for (const d of this.expected.values()) {
      const answeredAt = this.answers.get(d.device) ?? null;
      out.push({
        device: d.device,
        household: d.household,
        team: d.team,
        kind: d.kind,
        outcome: answeredAt !== null ? 'passed' : 'failed',
        reason: answeredAt !== null ? null : d.offlineAtStart ? 'offline' : 'no-answer',
        answeredAt,
      });
    }
    return out;
  }

  summary(): { expected: number; passed: number; failed: number } {
    return { expected: this.expected.size, passed: this.answers.size, failed: this.expected.size - this.answers.size };
  }
}
