/**
 * What is wrong with the hub right now, by reason (`journal`, …): `GET /health` answers 503
 * `{"status":"degraded","reasons":[…]}` while any reason is set. Parts report; listeners (the
 * station notice) hear each change once.
 */
import type { Notice } from '../protocol/schema.ts';

/** `journal`: the alarm journal cannot be written; `redis`: a cluster node lost its shared MQTT bus (it refuses devices meanwhile). */
export type HealthReason = 'journal' | 'redis';

export interface HealthProblem {
  reason: HealthReason;
  /** For people and logs: what failed. */
  message: string;
  since: number;
}

export class HubHealth {
  private readonly problems = new Map<HealthReason, HealthProblem>();
  private readonly listeners: Array<(reason: HealthReason, problem: HealthProblem | null) => void> = [];

  /** Sets (problem) or clears (null) a reason; listeners hear only real changes. */
  report(reason: HealthReason, problem: { message: string; at: number } | null): void {
    const had = this.problems.get(reason);
    if (problem === null) {
      if (!had) return;
      this.problems.delete(reason);
      for (const l of this.listeners) l(reason, null);
      return;
    }
    if (had) return;
    const p = { reason, message: problem.message, since: problem.at };
    this.problems.set(reason, p);
    for (const l of this.listeners) l(reason, p);
  }

  reasons(): HealthReason[] {
    return [...this.problems.keys()].sort();
  }

  list(): HealthProblem[] {
    return [...this.problems.values()];
  }

  onChange(listener: (reason: HealthReason, problem: HealthProblem | null) => void): void {
    this.listeners.push(listener);
  }
}

const TEXTS: Record<HealthReason, [failing: string, recovered: string]> = {
  journal: [
    'The hub cannot write its alarm journal ({detail}): alarms are still sent, acknowledgements wait until it is written.',
    'The hub writes its alarm journal again.',
  ],
  redis: [
    'This hub node lost its shared MQTT bus ({detail}): it refuses devices, which move to another node, until it is back.',
    'This hub node reaches its shared MQTT bus again and accepts devices.',
  ],
};

/** The station's notice of a change (published from memory: the disk may be full). */
export function healthNotice(reason: HealthReason, problem: HealthProblem | null, at: number): Notice {
  return {
    notice: problem ? `hub-${reason}-failing` : `hub-${reason}-recovered`,
    severity: problem ? 'trouble' : 'info',
    household: null,
    device: null,
    text: TEXTS[reason][problem ? 0 : 1].replace('{detail}', problem?.message ?? ''),
    ...(problem ? { params: { detail: problem.message } } : {}),
    at,
  };
}
