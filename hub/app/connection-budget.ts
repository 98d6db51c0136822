/**
 * The hub's connection budget. File descriptors are finite (RLIMIT_NOFILE, resource-limits.ts) and
 * every device holds one, so web connections (HTTP and MQTT over WebSocket: one budget, they share
 * the HTTP server) are admitted only
 *   - below `maxWeb` in total and `maxWebPerAddress` from one address, and
 *   - while they leave one descriptor per enrolled device that is not connected (the devices'
 *     reserve; persons' and not yet authenticated MQTT connections do not shrink it) — except for the first `webFloor`, so the station can still open its dashboard
 *     on a box whose limit is too low (the hub warns about that at start);
 * MQTT TCP connections are refused only when the open-files limit itself is about to be reached
 * (less half the spare).
 * So HTTP and WebSocket connections beyond their budget are refused first, and enrolled devices
 * always find room while the limit allows. A refused connection is closed at once, counted in
 * `smokehub_connections_refused_total{reason}` and logged (rate-limited).
 *
 * Descriptors not held by connections (database, WAL, session store, pipes, workers, sockets of
 * InfluxDB clients) are counted from /proc/self/fd: at the first connection, then every 10 s and at
 * most once a second while the budget is nearly used up — off the event loop (reading 19,000
 * entries takes ~18 ms; asynchronously the loop waits at most ~5 ms). `decideAdmission` is the pure
 * rule; the class is the socket edge.
 */
import { readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { Counter, MetricsRegistry } from '../observability/metrics.ts';
import { RateLimitedLog } from '../observability/rate-limited-log.ts';

export type ConnectionKind = 'web' | 'mqtt';
/**
 * web_total / web_per_address: over --http-max-connections(-per-address); device_reserve: the web
 * connection would take a descriptor held back for enrolled devices; fd_limit: the open-files limit
 * (less the process' own spare) is reached.
 */
export type RefusalReason = 'web_total' | 'web_per_address' | 'device_reserve' | 'fd_limit';

export interface BudgetState {
  /** Soft open-files limit (Infinity when unknown). */
  limit: number;
  /** Descriptors held by anything but tracked connections. */
  other: number;
  /** Descriptors kept free for the process itself (files it opens, a static file read, a new worker). */
  spare: number;
  web: number;
  /** Web connections from the address asking now. */
  webOfAddress: number;
  /** MQTT TCP connections: devices, persons, and connections not authenticated yet. */
  mqtt: number;
  /** Enrolled devices (each may hold one MQTT connection). */
  devices: number;
  /** Enrolled devices connected now (their descriptors are among `mqtt`). */
  connectedDevices: number;
  maxWeb: number;
  maxWebPerAddress: number;
  /** Web connections admitted even when they eat into the devices' reserve. */
  webFloor: number;
}

/** Whether one more connection of `kind` fits; the reason when it does not. Pure. */
export function decideAdmission(kind: ConnectionKind, s: BudgetState): RefusalReason | null {
  const used = s.other + s.spare + s.web + s.mqtt;
  // MQTT may use half of the spare: the count of the process' other descriptors may be a little
  // stale, and devices must not pay for it (the web's share is computed with the whole spare).
  if (kind === 'mqtt') return used - Math.floor(s.spare / 2) + 1 > s.limit ? 'fd_limit' : null;
  if (s.web >= s.maxWeb) return 'web_total';
  if (s.webOfAddress >= s.maxWebPerAddress) return 'web_per_address';
  if (used + 1 > s.limit) return 'fd_limit';
  const reserved = Math.max(0, s.devices - s.connectedDevices);
  if (s.web >= s.webFloor && used + reserved + 1 > s.limit) return 'device_reserve';
  return null;
}

/** `::ffff:10.0.0.5` and `10.0.0.5` are one address. */
export function normalizeAddress(addr: string | undefined): string {
  if (!addr) return 'unknown';
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

/** Open descriptors of this process (Linux /proc), or null where it cannot be read. */
export function countOpenFds(): number | null {
  try {
    return readdirSync('/proc/self/fd').length - 1; // less the directory handle itself
  } catch {
    return null;
  }
}

/** The same, read on libuv's thread pool. */
export async function countOpenFdsAsync(): Promise<number | null> {
  try {
    return (await readdir('/proc/self/fd')).length - 1;
  } catch {
    return null;
  }
}

export interface ConnectionBudgetOptions {
  /** Soft open-files limit (openFilesLimit()?.soft); null: unknown, only the connection caps apply. */
  fdLimit: number | null;
  /** Enrolled devices (re-read every 10 s). */
  enrolledDevices: () => number;
  /** Devices connected now (cheap: read at each admission); default: every MQTT connection counts as one. */
  connectedDevices?: () => number;
  maxWeb: number;
  maxWebPerAddress: number;
  /** Default 32. */
  spare?: number;
  /** Default 16. */
  webFloor?: number;
  /** Default: countOpenFds for the first count, countOpenFdsAsync after it (tests inject a synchronous one). */
  countFds?: () => number | null;
  clock: Clock;
  logger: Logger;
  metrics: MetricsRegistry;
}

const REFRESH_MS = 10_000;
const NEAR_LIMIT_REFRESH_MS = 1_000;

export class ConnectionBudget {
  private web = 0;
  private mqtt = 0;
  private readonly webByAddress = new Map<string, number>();
  private other = 0;
  private devices = 0;
  private lastRefresh = -Infinity;
  private timer: TimerHandle | null = null;
  private counting = false;
  private readonly limit: number;
  private readonly spare: number;
  private readonly webFloor: number;
  private readonly countFds: (() => number | null) | null;
  private readonly refused: Counter;
  private readonly log: RateLimitedLog;

  constructor(private readonly o: ConnectionBudgetOptions) {
    this.limit = o.fdLimit ?? Number.POSITIVE_INFINITY;
    this.spare = o.spare ?? 32;
    this.webFloor = o.webFloor ?? 16;
    this.countFds = o.countFds ?? null;
    this.refused = o.metrics.counter(
      'smokehub_connections_refused_total',
      'Connections closed at accept because they did not fit the budget, by reason (web_total, web_per_address, device_reserve, fd_limit)',
    );
    o.metrics.gauge('smokehub_connections_open', 'Open connections by kind (web: HTTP and MQTT over WebSocket; mqtt: MQTT over TCP)', () => [
      [{ kind: 'web' }, this.web],
      [{ kind: 'mqtt' }, this.mqtt],
    ]);
    o.metrics.gauge('smokehub_open_files_limit', 'The soft open-files limit of the hub process (-1: unknown)', () =>
      Number.isFinite(this.limit) ? this.limit : -1,
    );
    o.metrics.gauge('smokehub_connections_reserved_for_devices', 'File descriptors web connections may not take: enrolled devices not connected', () =>
      this.reserved(),
    );
    this.log = new RateLimitedLog(o.logger.child({ module: 'connections' }), o.clock, 60_000);
    // Descriptors are first counted at the first connection: once the hub has opened its files,
    // workers and listeners (counted while it starts, the estimate was 25 descriptors short).
    this.refreshDevices();
    const tick = () => {
      this.refresh(false);
      this.timer = o.clock.setTimer(REFRESH_MS, tick);
    };
    this.timer = o.clock.setTimer(REFRESH_MS, tick);
  }

  /** Open connections now (for tests and logs). */
  get counts(): { web: number; mqtt: number; other: number; devices: number; limit: number } {
    return { web: this.web, mqtt: this.mqtt, other: this.other, devices: this.devices, limit: this.limit };
  }

  /**
   * Admits an accepted socket (tracked until it closes), or refuses it: the socket is closed at once
   * (a web one is first told `503`) and false is returned.
   */
  admit(kind: ConnectionKind, socket: Socket): boolean {
    const address = normalizeAddress(socket.remoteAddress);
    if (this.lastRefresh === -Infinity) this.refresh(true);
    let reason = decideAdmission(kind, this.state(address));
    // Near the edge the estimate of the process' other descriptors may be stale: count again
    // (synchronously only when injected; the real count arrives a few ms later, the spare covers that).
    if (reason === 'fd_limit' || reason === 'device_reserve' || this.headroom() < 2 * this.spare) {
      if (this.o.clock.now() - this.lastRefresh >= NEAR_LIMIT_REFRESH_MS) {
        this.refresh(false);
        reason = decideAdmission(kind, this.state(address));
      }
    }
    if (reason !== null) {
      this.refuse(kind, socket, address, reason);
      return false;
    }
    if (kind === 'web') {
      this.web++;
      this.webByAddress.set(address, (this.webByAddress.get(address) ?? 0) + 1);
      socket.once('close', () => {
        this.web--;
        const n = (this.webByAddress.get(address) ?? 1) - 1;
        if (n <= 0) this.webByAddress.delete(address);
        else this.webByAddress.set(address, n);
      });
    } else {
      this.mqtt++;
      socket.once('close', () => void this.mqtt--);
    }
    return true;
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private state(address: string): BudgetState {
    return {
      limit: this.limit,
      other: this.other,
      spare: this.spare,
      web: this.web,
      webOfAddress: this.webByAddress.get(address) ?? 0,
      mqtt: this.mqtt,
      devices: this.devices,
      connectedDevices: this.connected(),
      maxWeb: this.o.maxWeb,
      maxWebPerAddress: this.o.maxWebPerAddress,
      webFloor: this.webFloor,
    };
  }

  private connected(): number {
    return this.o.connectedDevices ? this.o.connectedDevices() : this.mqtt;
  }

  private reserved(): number {
    return Math.max(0, this.devices - this.connected());
  }

  /** Descriptors left before web connections would touch the devices' reserve. */
  private headroom(): number {
    return this.limit - (this.other + this.spare + this.web + this.mqtt + this.reserved());
  }

  private refreshDevices(): void {
    try {
      this.devices = Math.max(0, this.o.enrolledDevices());
    } catch (err) {
      this.o.logger.warn({ err }, 'counting enrolled devices failed: the devices’ descriptor reserve keeps its last value');
    }
  }

  private refresh(first: boolean): void {
    this.lastRefresh = this.o.clock.now();
    this.refreshDevices();
    if (!Number.isFinite(this.limit)) return;
    const before = this.web + this.mqtt;
    if (this.countFds || first) {
      this.setOther((this.countFds ?? countOpenFds)(), before);
      return;
    }
    if (this.counting) return;
    this.counting = true;
    countOpenFdsAsync().then(
      (open) => {
        this.counting = false;
        this.setOther(open, before);
      },
      () => void (this.counting = false),
    );
  }

  /** Connections opened or closed while counting may or may not be in `open`: assume the fewer (more for the rest). */
  private setOther(open: number | null, trackedBefore: number): void {
    if (open === null) return;
    this.other = Math.max(0, open - Math.min(trackedBefore, this.web + this.mqtt));
  }

  private refuse(kind: ConnectionKind, socket: Socket, address: string, reason: RefusalReason): void {
    this.refused.inc({ reason });
    this.log.warn(
      `refused|${kind}|${reason}${reason === 'web_per_address' ? `|${address}` : ''}`,
      {
        kind,
        reason,
        ip: address,
        web: this.web,
        mqtt: this.mqtt,
        otherFds: this.other,
        limit: Number.isFinite(this.limit) ? this.limit : null,
        reservedForDevices: this.reserved(),
      },
      'connection refused: over its budget',
    );
    // The descriptor is given back now: no waiting for the peer (HTTP server sockets allow half-open).
    if (kind === 'web' && socket.writable) {
      socket.write('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n');
    }
    socket.destroy();
  }
}
