/**
 * The alarm engine's open alarms: by id (in the order they were opened — the order deadlines fire
 * and teams are scanned in), and each household's open real alarm (a drill is never a household's
 * alarm). Pure and synchronous.
 */
import type { AlarmRecord } from './alarm-record.ts';

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

  /** The earliest pending deadline (verify, escalate, resolve, hush), or null. */
  nextDeadline(): number | null {
    let next: number | null = null;
    for (const a of this.byId.values()) {
      for (const d of [a.verifyDeadline, a.escalateDeadline, a.resolveDeadline, a.hushDeadline ?? null]) {
        if (d !== null && (next === null || d < next)) next = d;
      }
    }
    return next;
  }
}
