/**
 * The cluster's `SingletonGate` (app/context.ts): what runs once per hub runs on the node holding
 * the lease of that name in PostgreSQL (leases.ts). A lease is kept from the first time its name is
 * asked for (`holds`) or watched, until `stop()`; watchers hear `true` when this node takes it,
 * `false` when it loses it (expired, taken by another node, PostgreSQL unreachable, `stop()`).
 *
 * A lease whose fence changed while it was held (this node's row was taken over and taken back
 * between two of its renewals) is told as a loss and a new acquisition: another node may have run
 * the work meanwhile, so the watchers start again from scratch.
 *
 * The lease names are the extensions' own (`supervision`, `jobs`: supervision-extension.ts; `sms`:
 * sms-extension.ts), listed in docs/cluster.md, "Once per cluster".
 */
import type { SingletonGate } from '../app/context.ts';
import type { Logger } from '../observability/logger.ts';
import type { LeaseHandlers } from './leases.ts';

/** What the gate needs of a LeaseKeeper. */
export interface GateKeeper {
  keep(name: string, h: LeaseHandlers): void;
  holds(name: string): boolean;
  fence(name: string): number | undefined;
  stop(): Promise<void>;
}

export interface LeaseGateOptions {
  keeper: GateKeeper;
  /** The leases' ttl (default 10 s: a dead holder is replaced within ttl + ttl/3 ≈ 13.3 s). */
  ttlMs?: number;
  logger?: Logger;
}

/** What a watcher is told when the keeper reports `event` for a lease the watchers believe `told`. */
export function watcherCalls(told: boolean, event: 'acquired' | 'lost'): boolean[] {
  if (event === 'lost') return told ? [false] : [];
  return told ? [false, true] : [true];
}

interface Lease {
  /** What the watchers were last told. */
  told: boolean;
  listeners: Set<(held: boolean) => void>;
}

export const DEFAULT_LEASE_TTL_MS = 10_000;

export class LeaseGate implements SingletonGate {
  private readonly leases = new Map<string, Lease>();
  private stopped = false;

  constructor(private readonly o: LeaseGateOptions) {}

  holds(name: string): boolean {
    this.lease(name);
    return this.o.keeper.holds(name);
  }

  watch(name: string, listener: (held: boolean) => void): () => void {
    const l = this.lease(name);
    l.listeners.add(listener);
    this.call(name, listener, l.told);
    return () => {
      l.listeners.delete(listener);
    };
  }

  /** The fence of a lease held now (to stamp work with), else undefined. */
  fence(name: string): number | undefined {
    return this.o.keeper.fence(name);
  }

  /** Gives every lease up (watchers hear `false`) and releases them in PostgreSQL. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.o.keeper.stop();
  }

  private lease(name: string): Lease {
    let l = this.leases.get(name);
    if (l) return l;
    l = { told: false, listeners: new Set() };
    this.leases.set(name, l);
    if (this.stopped) return l; // never held again
    const lease = l;
    this.o.keeper.keep(name, {
      ttlMs: this.o.ttlMs ?? DEFAULT_LEASE_TTL_MS,
      onAcquired: (fence) => {
        this.o.logger?.info({ lease: name, fence }, 'lease acquired: this node runs it');
        this.tell(name, lease, 'acquired');
      },
      onLost: () => {
        this.o.logger?.warn({ lease: name }, 'lease lost: this node stops running it');
        this.tell(name, lease, 'lost');
      },
    });
    return l;
  }

  private tell(name: string, l: Lease, event: 'acquired' | 'lost'): void {
    for (const held of watcherCalls(l.told, event)) {
      l.told = held;
      for (const listener of [...l.listeners]) this.call(name, listener, held);
    }
  }

  private call(name: string, listener: (held: boolean) => void, held: boolean): void {
    try {
      listener(held);
    } catch (err) {
      this.o.logger?.error({ err, lease: name, held }, 'a lease watcher threw');
    }
  }
}
