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
    `devices beyond it will be refused. Raise it (systemd: LimitNOFILE=${Math.max(65536, needed)}; shell: ulimit -n ${Math.min(limit.hard, Math.max(65536, needed))}).`
  );
}
