/**
 * The broker's retained messages in memory, indexed by their first three topic levels
 * (`smokehub/h/H`): a SUBSCRIBE whose filter names its household (`smokehub/h/H/#`, a Zigbee2MQTT
 * gateway's `smokehub/h/H/z2m/#`, Home Assistant's `smokehub/h/H/homeassistant/#`) is answered from
 * that household's few retained messages instead of a scan of every retained message of the hub
 * (tens of thousands: each household's `…/alarms`, each device's `status`). Filters with a wildcard
 * in their first three levels (`smokehub/#`, `smokehub/h/+/alarms`) still scan everything. Pure.
 */
import { filterMatches } from '../protocol/topics.ts';

export interface RetainedPacket {
  topic: string;
  payload: Buffer;
}

const PREFIX_LEVELS = 3;

/** The first three levels of a topic or a filter, or null when one of them is a wildcard or missing. */
function prefixOf(topicOrFilter: string): string | null {
  const levels = topicOrFilter.split('/', PREFIX_LEVELS);
  if (levels.length < PREFIX_LEVELS || levels.some((l) => l === '+' || l === '#')) return null;
  return levels.join('/');
}

export class RetainedIndex {
  private readonly all = new Map<string, RetainedPacket>();
  private readonly byPrefix = new Map<string, Map<string, RetainedPacket>>();

  get size(): number {
    return this.all.size;
  }

  set(p: RetainedPacket): void {
    this.all.set(p.topic, p);
    const prefix = prefixOf(p.topic);
    if (prefix === null) return;
    let bucket = this.byPrefix.get(prefix);
    if (!bucket) this.byPrefix.set(prefix, (bucket = new Map()));
    bucket.set(p.topic, p);
  }

  delete(topic: string): void {
    if (!this.all.delete(topic)) return;
    const prefix = prefixOf(topic);
    const bucket = prefix === null ? undefined : this.byPrefix.get(prefix);
    if (!bucket) return;
    bucket.delete(topic);
    if (bucket.size === 0) this.byPrefix.delete(prefix!);
  }

  /** Retained messages matching each filter, in filter order (a message matching two filters comes twice, as before). */
  *matching(filters: string[]): Generator<RetainedPacket> {
    for (const filter of filters) {
      if (!filter.includes('+') && !filter.includes('#')) {
        const p = this.all.get(filter);
        if (p) yield p;
        continue;
      }
      const prefix = prefixOf(filter);
      // A topic under another prefix cannot match a filter whose first three levels are literal.
      const candidates = prefix === null ? this.all : (this.byPrefix.get(prefix) ?? new Map<string, RetainedPacket>());
      for (const [topic, p] of candidates) if (filterMatches(filter, topic)) yield p;
    }
  }
}
