/**
 * A node's copy of the cluster-wide device presence, for the synchronous readers (the household
 * and device status routes, the connection budget): every enrolled device's record is read from
 * Redis every `refreshMs` (two round trips: presence.ts `infoMany`), in chunks. A device connected
 * to this node answers from the broker at once; one on another node within `refreshMs` of its change
 * (and a dead node's devices within the presence TTL). A failed refresh keeps the last copy, logged.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { ClusterPresence, ClusterPresenceInfo } from './presence.ts';

export interface PresenceSnapshotDeps {
  presence: Pick<ClusterPresence, 'infoMany'>;
  /** This node's own devices (the broker's presence): always current. */
  local(device: string): { online: boolean; since: number | null };
  devices(): string[];
  clock: Clock;
  logger: Pick<Logger, 'warn'>;
  refreshMs?: number;
}

const CHUNK = 5000;

export class PresenceSnapshot {
  private known = new Map<string, ClusterPresenceInfo>();
  private timer: TimerHandle | null = null;
  private stopped = false;
  private failures = 0;

  constructor(private readonly d: PresenceSnapshotDeps) {}

  async start(): Promise<void> {
    await this.refresh();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /** online, and since when (connected) or last seen (offline). */
  status(device: string): { online: boolean; lastSeen: number | null } {
    const here = this.d.local(device);
    if (here.online) return { online: true, lastSeen: here.since };
    const p = this.known.get(device);
    if (!p) return { online: false, lastSeen: here.since };
    return { online: p.online, lastSeen: p.since ?? here.since };
  }

  /** Devices online on any node (as of the last refresh, this node's exactly). */
  onlineCount(): number {
    let n = 0;
    for (const p of this.known.values()) if (p.online) n++;
    return n;
  }

  async refresh(): Promise<void> {
    const ids = this.d.devices();
    const next = new Map<string, ClusterPresenceInfo>();
    try {
      for (let i = 0; i < ids.length; i += CHUNK) for (const [k, v] of await this.d.presence.infoMany(ids.slice(i, i + CHUNK))) next.set(k, v);
      this.known = next;
      this.failures = 0;
    } catch (err) {
      if (this.failures++ % 30 === 0) this.d.logger.warn({ err }, 'cluster presence: refresh failed (the last copy answers)');
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.d.clock.setTimer(this.d.refreshMs ?? 2000, () => {
      this.timer = null;
      void this.refresh().finally(() => this.schedule());
    });
  }
}
