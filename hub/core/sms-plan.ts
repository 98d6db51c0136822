/**
 * Who gets which SMS and call when an alarm changes (issue "reach people"): pure and synchronous.
 * The notifier (hub/sms/notifier-extension.ts) renders the texts, queues them durably and sends
 * them through the modem; this module only decides.
 *
 *   raised (pre-alarm)        SMS the origin household: "reply 0 if false alarm"
 *   activated / re-raised     SMS every other household of the team and the nearby ones (reply 1/2/3),
 *                             and a voice call to each who has not answered within --call-after
 *   escalated (not a drill)   call the station numbers in order until one answers; SMS them the dispatch card
 *   hushed                    SMS everyone texted: the household says it is under control; calls cancelled
 *   cancelled / resolved      SMS everyone texted: stand down; calls cancelled
 *   dispatched                SMS everyone texted: a fire truck is on its way
 */
import type { AlarmView } from '../protocol/schema.ts';

export type MessageId = 'pre-alarm' | 'active' | 'active-nearby' | 'dispatch-card' | 'stand-down' | 'hushed' | 'dispatched';

/** Priorities of the outgoing queue (lower goes first): alarm texts before everything else. */
export const PRIORITY = { station: 0, alarm: 1, call: 2, update: 3, help: 5 } as const;

export interface PlannedSms {
  kind: 'sms';
  to: string;
  household: string | null;
  message: MessageId;
  priority: number;
  /** Unique per alarm, transition and number: a replayed transition never texts twice. */
  dedupeKey: string;
}
export interface PlannedCall {
  kind: 'call';
  to: string;
  household: string | null;
  priority: number;
  dedupeKey: string;
  /** Not before this time (ms): a neighbour's call waits --call-after for an answer first. */
  notBefore: number;
  /** The station numbers are called one after the other until one answers: this call's place. */
  stationIndex?: number;
}
export type PlannedAction = PlannedSms | PlannedCall;

export interface PlanContext {
  /** A household's numbers (E.164). */
  phonesOf(household: string): string[];
  /** Every household of the alarm's team. */
  teamHouseholds: string[];
  stationPhones: string[];
  /** Numbers already texted about this alarm (stand-downs and updates go to them). */
  texted: string[];
  now: number;
  callAfterMs: number;
}

export interface Plan {
  actions: PlannedAction[];
  /** Cancel the pending (not yet made) calls of this alarm. */
  cancelCalls: boolean;
}

/** What an alarm's change sends (`transition` names what happened: the journal's name). */
export function planFor(view: AlarmView, transition: string, ctx: PlanContext): Plan {
  const actions: PlannedAction[] = [];
  const drill = view.kind === 'drill';
  const key = (what: string, to: string) => `${view.alarm}:${what}:${view.updatedAt}:${to}`;
  const sms = (to: string, household: string | null, message: MessageId, priority: number): void => {
    actions.push({ kind: 'sms', to, household, message, priority, dedupeKey: key(message, to) });
  };
  const toTexted = (message: MessageId): void => {
    for (const to of unique(ctx.texted)) sms(to, null, message, PRIORITY.update);
  };

  switch (transition) {
    case 'raised':
      for (const to of ctx.phonesOf(view.origin.household)) sms(to, view.origin.household, 'pre-alarm', PRIORITY.alarm);
      break;
    case 'activated':
    case 're-raised':
    case 'drill-started':
    case 'escalated': {
      // Escalated straight from a pre-alarm (two households alarming): the neighbours were not texted yet.
      const already = new Set(transition === 'escalated' ? ctx.texted : []);
      const answered = new Set(view.responders.map((r) => r.household));
      const neighbours = ctx.teamHouseholds.filter((h) => h !== view.origin.household).map((h) => [h, false] as const);
      const nearby = (view.nearbyHouseholds ?? []).map((h) => [h, true] as const);
      for (const [h, isNearby] of [...neighbours, ...nearby]) {
        for (const to of ctx.phonesOf(h)) {
          if (already.has(to)) continue;
          sms(to, h, isNearby ? 'active-nearby' : 'active', PRIORITY.alarm);
          // A missed call wakes a sleeper: only team neighbours are counted on, and only if they did not answer.
          if (!isNearby && !drill && !answered.has(h)) {
            actions.push({ kind: 'call', to, household: h, priority: PRIORITY.call, dedupeKey: key('call', to), notBefore: ctx.now + ctx.callAfterMs });
          }
        }
      }
      if (transition !== 'escalated' || drill) break;
      for (const to of ctx.stationPhones) sms(to, null, 'dispatch-card', PRIORITY.station);
      if (ctx.stationPhones.length > 0) {
        actions.push({
          kind: 'call',
          to: ctx.stationPhones[0]!,
          household: null,
          priority: PRIORITY.station,
          dedupeKey: key('station-call', ctx.stationPhones[0]!),
          notBefore: ctx.now,
          stationIndex: 0,
        });
      }
      break;
    }
    case 'hushed':
      toTexted('hushed');
      return { actions, cancelCalls: true };
    case 'dispatched':
      toTexted('dispatched');
      break;
    default:
      if (view.state === 'cancelled' || view.state === 'resolved') {
        toTexted('stand-down');
        return { actions, cancelCalls: true };
      }
  }
  return { actions, cancelCalls: false };
}

/** The next station number to call after `previous` did not answer (null: every number was tried). */
export function nextStationCall(previous: { to: string; dedupeKey: string }, stationPhones: string[], now: number): PlannedCall | null {
  const index = stationPhones.indexOf(previous.to);
  const to = index < 0 ? undefined : stationPhones[index + 1];
  if (to === undefined) return null;
  const at = previous.dedupeKey.lastIndexOf(`:${previous.to}`);
  const dedupeKey = `${previous.dedupeKey.slice(0, at < 0 ? previous.dedupeKey.length : at)}:${to}`;
  return { kind: 'call', to, household: null, priority: PRIORITY.station, dedupeKey, notBefore: now, stationIndex: index + 1 };
}

/** Whether a queued call is one of the station chain's (planned by `planFor` on escalation). */
export function isStationCall(dedupeKey: string): boolean {
  return dedupeKey.includes(':station-call:');
}

/** A reply code from a household's phone: `0` false alarm (the origin), `1` coming, `2` cannot come, `3` need help. */
export function parseReplyCode(text: string): 'false-alarm' | 'coming' | 'unable' | 'need-help' | null {
  const t = text.trim().replace(/^[#*.\s]+|[#*.\s]+$/g, '');
  switch (t) {
    case '0':
      return 'false-alarm';
    case '1':
      return 'coming';
    case '2':
      return 'unable';
    case '3':
      return 'need-help';
    default:
      return null;
  }
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}
