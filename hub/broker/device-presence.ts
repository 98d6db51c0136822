/**
 * Which devices are connected now, and when each was last connected or gone. A device that
 * reconnects with the same client id (session takeover) stays online: the old connection's
 * disconnect arrives after the new one is up and must not mark it offline.
 */
export interface PresenceInfo {
  online: boolean;
  since: number | null;
}

export class DevicePresence {
  private readonly current = new Map<string, { client: unknown; since: number }>();
  private readonly lastGone = new Map<string, number>();

  connected(device: string, client: unknown, at: number): void {
    this.current.set(device, { client, since: at });
  }

  /** Returns true when the device is now offline (false for a superseded connection). */
  disconnected(device: string, client: unknown, at: number): boolean {
    const c = this.current.get(device);
    if (!c || c.client !== client) return false;
    this.current.delete(device);
    this.lastGone.set(device, at);
    return true;
  }

  info(device: string): PresenceInfo {
    const c = this.current.get(device);
    if (c) return { online: true, since: c.since };
    return { online: false, since: this.lastGone.get(device) ?? null };
  }

  connectedCount(): number {
    return this.current.size;
  }
}
