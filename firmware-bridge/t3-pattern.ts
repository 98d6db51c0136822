/**
 * The T3 temporal evacuation pattern (ISO 8201 / NFPA 72 §18.4.2): three 0.5 s tones separated
 * by 0.5 s, then 1.5 s of silence, repeated. Plays a pattern on any on/off output, with time
 * injected (Clock) so it is testable without waiting.
 */
import type { Clock, TimerHandle } from '../hub/core/clock.ts';

/** Alternating on/off durations (ms), starting with "on". */
export const T3_PATTERN: readonly number[] = [500, 500, 500, 500, 500, 1500];

export class PatternPlayer {
  private timer: TimerHandle | null = null;
  private step = 0;
  private cyclesLeft = Infinity;
  private onDone: (() => void) | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly write: (on: boolean) => void,
    private readonly pattern: readonly number[] = T3_PATTERN,
  ) {}

  get playing(): boolean {
    return this.timer !== null;
  }

  /** Plays `cycles` times (default: until stopped). Restarting while playing keeps the rhythm. */
  play(cycles = Infinity, onDone?: () => void): void {
    this.cyclesLeft = cycles;
    this.onDone = onDone ?? null;
    if (this.timer) return;
    this.step = 0;
    this.tick();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    this.write(false);
  }

  private tick(): void {
    const on = this.step % 2 === 0;
    this.write(on);
    const ms = this.pattern[this.step]!;
    this.timer = this.clock.setTimer(ms, () => {
      this.step = (this.step + 1) % this.pattern.length;
      if (this.step === 0 && --this.cyclesLeft <= 0) {
        this.timer = null;
        this.write(false);
        const done = this.onDone;
        this.onDone = null;
        done?.();
        return;
      }
      this.tick();
    });
  }
}
