/** Shared helpers of the bridge tests: temp dirs, polling, a bridge wired to a test hub. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBridge, type BridgeDeps, type BridgeSettings, type BuiltBridge } from '../../firmware-bridge/build-bridge.ts';
import { createLogger, silentLogger } from '../../hub/observability/logger.ts';

export const testLogger = () => (process.env.SMOKEHUB_TEST_LOG ? createLogger({ level: process.env.SMOKEHUB_TEST_LOG, name: 'bridge' }) : silentLogger());

export function tempDir(t: { after: (fn: () => void | Promise<void>) => void }, prefix = 'smokehub-bridge-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Polls `check` until it returns a truthy value (or throws after `ms`). */
export async function waitFor<T>(check: () => T | Promise<T>, ms = 5000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Cleanups run last-registered first (node:test runs `t.after` hooks first-registered first):
 * bridges and clients stop before the hub they talk to.
 */
export function cleanupStack(t: { after: (fn: () => void | Promise<void>) => void }): (fn: () => unknown) => void {
  const fns: Array<() => unknown> = [];
  t.after(async () => {
    for (const fn of fns.reverse()) {
      try {
        await fn();
      } catch {
        // keep cleaning up
      }
    }
  });
  return (fn) => void fns.push(fn);
}

/**
 * Stops a hub while bridges are still connected. The broker's close waits for open TCP
 * connections before it closes its clients, so the bridges' connections are cut once the
 * listener is closed (they then retry against a closed port, like in a real outage).
 */
export async function stopHubUnderBridges(
  hub: { stop(): Promise<void> },
  links: Array<{ destroyConnection(): void }>,
  extra: Array<{ end(force: boolean): unknown }> = [],
): Promise<void> {
  const stopping = hub.stop();
  await new Promise((r) => setTimeout(r, 20));
  for (const l of links) l.destroyConnection();
  for (const c of extra) c.end(true);
  await stopping;
}

export function startBridge(
  onCleanup: (fn: () => unknown) => void,
  settings: Omit<BridgeSettings, 'outboxMax'> & { outboxMax?: number },
  deps: Partial<BridgeDeps> = {},
): BuiltBridge {
  const built = buildBridge(
    { outboxMax: 10_000, backoff: { initialMs: 100, maxMs: 500, jitter: 0.2 }, authRetryMs: 1000, resyncMs: 2000, ...settings },
    { logger: testLogger(), ...deps },
  );
  onCleanup(() => built.bridge.stop());
  return built;
}
