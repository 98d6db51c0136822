/**
 * The alarm engine's open alarms: by id (in the order they were opened — the order deadlines fire
 * and teams are scanned in), and each household's open real alarm (a drill is never a household's
 * alarm). Pure and synchronous.
 */
import { recordNextDeadline, type AlarmRecord } from './alarm-record.ts';

export class OpenAlarms {
  private readonly byId = new Map<string, AlarmRecord>();
  /** household → its open alarm id */
  private readonly byHousehold = new Map<string, string>();

  /** Adds an alarm just opened (or restored); a real alarm becomes its origin household's. */
  add(a: AlarmRecord): void {
    this.byId.set(a.id, a);
    if (a.kind !== 'drill') this.byHousehold.set(a.originHousehold, a.id);
  }

  /** Forgets an alarm that closed. */
  remove(a: AlarmRecord): void {
    this.byId.delete(a.id);
    if (this.byHousehold.get(a.originHousehold) === a.id) this.byHousehold.delete(a.originHousehold);
  }

  get(id: string): AlarmRecord | undefined {
    return this.byId.get(id);
  }

  /** The household's open real alarm. */
  ofHousehold(household: string): AlarmRecord | undefined {
    const id = this.byHousehold.get(household);
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** A live iteration, oldest first (do not add or remove while iterating: see all()). */
  values(): IterableIterator<AlarmRecord> {
    return this.byId.values();
  }

  /** A copy of the list, oldest first: safe to iterate while alarms close. */
  all(): AlarmRecord[] {
    return [...this.byId.values()];
  }

  /** The team's open alarms, oldest first. */
  ofTeam(team: string): AlarmRecord[] {
    return this.all().filter((a) => a.team === team);
  }

  /**
   * Makes `records` the team's open alarms (those of other teams untouched): its alarms that are
   * not among them are forgotten, the others replaced. Records are taken as they are (not copied),
   * oldest first by `raisedAt`; closed ones are ignored.
   */
  replaceTeam(team: string, records: AlarmRecord[]): void {
    for (const a of this.ofTeam(team)) this.remove(a);
    const open = records.filter((r) => r.team === team && r.closedAt === null).sort((x, y) => x.raisedAt - y.raisedAt || (x.id < y.id ? -1 : 1));
    for (const r of open) this.add(r);
  }

  /** The earliest pending deadline (verify, escalate, resolve, hush), or null. */
  nextDeadline(): number | null {
    let next: number | null = null;
    for (const a of this.byId.values()) {
      const d = recordNextDeadline(a);
      if (d !== null && (next === null || d < next)) next = d;
    }
    return next;
  }
}
