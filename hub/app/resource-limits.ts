/**
 * Every device holds one TCP connection, so the hub needs about one file descriptor per device.
 * Node cannot raise RLIMIT_NOFILE itself: read it (Linux /proc) and warn when it is too low,
 * naming the fix (systemd LimitNOFILE=, or `ulimit -n`). The connection budget (connection-budget.ts)
 * shares the limit out: devices first, web connections get what remains.
 */
import { readFileSync } from 'node:fs';

/** The soft and hard open-files limits of this process, or null where /proc is not available. */
export function openFilesLimit(limitsText?: string): { soft: number; hard: number } | null {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return null;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
  if (!m) return null;
  const n = (s: string) => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s));
  return { soft: n(m[1]!), hard: n(m[2]!) };
}

/** A warning when `devices` connections (plus headroom) would not fit in the limit; null when fine. */
export function openFilesWarning(devices: number, limit: { soft: number; hard: number } | null): string | null {
  if (!limit) return null;
  const needed = devices + 512;
  if (limit.soft >= needed) return null;
  return (
    `the open-files limit (${limit.soft}) is too low for ${devices} enrolled devices (needs about ${needed}): web connections ` +
    `(HTTP, WebSocket) are refused first to keep one descriptor per device (app/connection-budget.ts), and devices beyond the limit are refused. ` +
    `Raise it (systemd: LimitNOFILE=${Math.max(65536, needed)}; shell: ulimit -n ${Math.min(limit.hard, Math.max(65536, needed))}).`
  );
}

/** The kernel's cap on a listening socket's accept queue (Linux net.core.somaxconn), or null where unknown. */
export function acceptQueueCap(text?: string): number | null {
  let t = text;
  if (t === undefined) {
    try {
      t = readFileSync('/proc/sys/net/core/somaxconn', 'utf8');
    } catch {
      return null;
    }
  }
  const n = Number(t.trim());
  return Number.isInteger(n) && n > 0 ? n : null;
}

/**
 * A warning when the kernel caps the MQTT port's accept queue below what a reconnect storm of
 * `devices` needs (all of them up to 4,096: enough for 18,000 on the 2-core bench machine, because
 * the hub accepts as fast as they arrive); null when fine. Older kernels default to 128.
 */
export function acceptQueueWarning(devices: number, cap: number | null): string | null {
  if (cap === null) return null;
  const wanted = Math.min(devices, 4096);
  if (cap >= wanted) return null;
  return (
    `the kernel caps the MQTT accept queue at ${cap} (net.core.somaxconn) for ${devices} enrolled devices: after a power cut their ` +
    `reconnections overflow it and each dropped handshake waits 1, 3, 7 … s (TCP retransmission). Raise it: ` +
    `echo 'net.core.somaxconn=32768' | sudo tee /etc/sysctl.d/60-smokehub.conf && sudo sysctl --system`
  );
}
