/**
 * The bridge's real clock. Unlike the hub's `systemClock`, its timers keep the process alive:
 * a bridge waiting to reconnect to an unreachable hub must not exit.
 */
import type { Clock } from '../hub/core/clock.ts';

export const liveClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(t) };
  },
};
