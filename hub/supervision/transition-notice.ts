/**
 * The notice for each supervision transition (offline, restored, flapping, stable): pure text and
 * parameters, never alarm severity.
 */
import type { SupervisionTransition, DownReason } from './supervision-tracker.ts';
import type { NoticeDraft } from './reminders.ts';

function reasonText(reason: DownReason | null, windowMs: number): string {
  switch (reason) {
    case 'silent':
      return `it has not been heard for ${Math.round(windowMs / 1000)} s`;
    case 'disconnected':
      return 'its connection dropped';
    case 'reported-offline':
      return 'it reported going offline';
    default:
      return 'it is not reachable';
  }
}

const minutes = (ms: number) => Math.max(1, Math.round(ms / 60000));

/** The notice for a supervision transition (never alarm severity). */
export function transitionNotice(t: SupervisionTransition, opts: { windowMs: number; flapWindowMs: number }): NoticeDraft {
  const base = { team: t.team, household: t.household, device: t.device };
  const what = `${t.kind} device ${t.device}`;
  switch (t.transition) {
    case 'offline':
      return {
        ...base,
        notice: 'offline',
        severity: 'trouble',
        text: `${what} is offline: ${reasonText(t.reason, opts.windowMs)}. Check its power and connection.`,
        params: { kind: t.kind, reason: t.reason ?? 'unknown', seconds: Math.round(opts.windowMs / 1000) },
      };
    case 'restored':
      return {
        ...base,
        notice: 'restored',
        severity: 'info',
        text: `${what} is back online (it was offline for about ${minutes(t.at - t.since)} min).`,
        params: { kind: t.kind, downMinutes: minutes(t.at - t.since) },
      };
    case 'flapping':
      return {
        ...base,
        notice: 'flapping',
        severity: 'trouble',
        text: `${what} keeps dropping out (${t.cycles} times within ${minutes(opts.flapWindowMs)} min). Its further drops are not reported until it has been stable for ${minutes(opts.flapWindowMs)} min. Check its power supply and Wi-Fi.`,
        params: { kind: t.kind, cycles: t.cycles, minutes: minutes(opts.flapWindowMs) },
      };
    case 'stable':
      return t.down
        ? {
            ...base,
            notice: 'offline',
            severity: 'trouble',
            text: `${what} stopped flapping but is still offline: ${reasonText(t.reason, opts.windowMs)}. Check its power and connection.`,
            params: { kind: t.kind, reason: t.reason ?? 'unknown', seconds: Math.round(opts.windowMs / 1000), after: 'flapping' },
          }
        : {
            ...base,
            notice: 'restored',
            severity: 'info',
            text: `${what} has been stable for ${minutes(opts.flapWindowMs)} min and is online.`,
            params: { kind: t.kind, stableMinutes: minutes(opts.flapWindowMs) },
          };
  }
}
