/**
 * Cluster-wide device presence, the pure part (presence.ts keeps it in Redis). Each device has one
 * record: online on a node (`node`, that node's `run`, `connectedAt`) or offline since `lastSeen`.
 * Each node runs under a random run id and keeps a heartbeat key (its run id, with an expiry it
 * refreshes) and, without expiry, when it last beat. A record says online only while its node's
 * heartbeat carries the record's run: a node that dies (or restarts: a new run) takes its devices
 * offline when its heartbeat expires, as of its last beat — no node has to clean up after another.
 */

export interface OnlineRecord {
  node: string;
  run: string;
  connectedAt: number;
}

export interface OfflineRecord {
  node: null;
  lastSeen: number;
}

export type PresenceRecord = OnlineRecord | OfflineRecord;

/** What a node knows of another node: its heartbeat's run (null once expired) and its last beat. */
export interface NodeLiveness {
  run: string | null;
  lastBeat: number | null;
}

/** What a reader is told (the same shape as broker/device-presence.ts `PresenceInfo`, plus the node). */
export interface ClusterPresenceInfo {
  online: boolean;
  /** Connected since (online) or last seen (offline); null when never seen. */
  since: number | null;
  /** The node it is connected to, when online. */
  node: string | null;
}

export function encodeRecord(r: PresenceRecord): string {
  return JSON.stringify(r);
}

/** A stored record, or null when it is not one (an unknown or damaged value reads as never seen). */
export function decodeRecord(raw: string | null | undefined): PresenceRecord | null {
  if (!raw) return null;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (o.node === null && typeof o.lastSeen === 'number') return { node: null, lastSeen: o.lastSeen };
  if (typeof o.node === 'string' && typeof o.run === 'string' && typeof o.connectedAt === 'number')
    return { node: o.node, run: o.run, connectedAt: o.connectedAt };
  return null;
}

/** Presence of one device from its record and the liveness of the node the record names. */
export function resolvePresence(record: PresenceRecord | null, liveness: NodeLiveness | null): ClusterPresenceInfo {
  if (!record) return { online: false, since: null, node: null };
  if (record.node === null) return { online: false, since: record.lastSeen, node: null };
  if (liveness && liveness.run === record.run) return { online: true, since: record.connectedAt, node: record.node };
  // Its node died or restarted since: offline as of that node's last beat (never before it connected).
  const lastBeat = liveness?.lastBeat ?? null;
  return { online: false, since: lastBeat === null ? record.connectedAt : Math.max(lastBeat, record.connectedAt), node: null };
}

/** How often a node refreshes its heartbeat for a given expiry: three times per expiry. */
export function refreshIntervalMs(ttlMs: number): number {
  return Math.max(100, Math.floor(ttlMs / 3));
}
