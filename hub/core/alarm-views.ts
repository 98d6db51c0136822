/**
 * What people are shown of the open alarms: an alarm's view with the other alarming households of
 * its team, and the alarms a household must see right now. Pure projections of the engine's open
 * alarms; nothing here changes a record.
 */
import type { AlarmView } from '../protocol/schema.ts';
import { alarmView, type AlarmRecord, type Directory } from './alarm-record.ts';
import type { OpenAlarms } from './open-alarms.ts';

/**
 * The view of `a`. Each household has its own alarm; `households` also names the team's other
 * households whose devices are alarming now (their alarms escalate together: multiple-households).
 */
export function teamAlarmView(a: AlarmRecord, open: OpenAlarms, directory: Directory): AlarmView {
  const v = alarmView(a, directory);
  if (a.kind === 'drill') return v;
  const others: string[] = [];
  for (const x of open.values()) {
    if (x !== a && x.team === a.team && x.kind !== 'drill') others.push(...Object.values(x.alarming));
  }
  if (others.length > 0) v.households = [...new Set([...(v.households ?? []), ...others])];
  return v;
}

/** Open alarms a household must see right now (origin's own, or its team's alerted ones). */
export function alarmsConcerning(household: string, open: OpenAlarms, directory: Directory): AlarmView[] {
  const team = directory.household(household)?.team;
  if (team === undefined) return [];
  const out = [];
  for (const a of open.values()) {
    if (a.team !== team) {
      if (a.neighboursAlerted && a.nearby?.includes(household)) out.push({ ...teamAlarmView(a, open, directory), nearby: true });
      continue;
    }
    if (a.originHousehold === household || a.neighboursAlerted || Object.values(a.alarming).includes(household)) out.push(teamAlarmView(a, open, directory));
  }
  return out;
}
