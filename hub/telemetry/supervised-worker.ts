/**
 * Mechanism for a worker thread that must keep running, whatever it does (no telemetry here).
 *
 * It starts the thread, hands its messages to the owner (only the current thread's: a thread that
 * was replaced may still deliver what it posted before it died), notices when it dies — with an
 * uncaught error (`failed`) or ended from outside (terminate(), no error) — and starts a new one
 * after a backoff (min doubling to max; the owner resets it when work goes through again). What a
 * death means for the work the thread held, and when a start settles or ends supervision, are the
 * owner's policy (the hooks). Timers go through an injected clock (default: real timers that keep
 * the process alive, like a bare setTimeout).
 */
import { Worker } from 'node:worker_threads';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';

/** Real time, with timers that keep the process alive (systemClock's are unref'd). */
export const keepAliveClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(t) };
  },
};

/** Restart delays: `minMs`·2^n (n at most 10), at most `maxMs`; `reset()` starts again from `minMs`. */
export class Backoff {
  private attempts = 0;
  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {}
  /** The delay before the next attempt (counts it). */
  next(): number {
    const delay = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempts, 10));
    this.attempts++;
    return delay;
  }
  reset(): void {
    this.attempts = 0;
  }
}

/** One-shot wake-ups for whoever waits for "something changed" (bounded by a timeout). */
export class ChangeSignal {
  private waiters: Array<() => void> = [];
  constructor(private readonly clock: Clock) {}
  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  /** Resolves at the next notify() or after `ms`. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = this.clock.setTimer(ms, resolve);
      this.waiters.push(() => {
        t.cancel();
        resolve();
      });
    });
  }
}

/**
 * Run from TypeScript sources (tests, benchmarks, `tsx`), a worker needs the same loader as the
 * main thread, and on Node 20 `--import tsx` is not applied to a worker's entry module: a tiny
 * bootstrap registers tsx first. Compiled (dist/, .js), the worker file is started directly.
 */
export function workerEntry(url: URL): { entry: string | URL; eval: boolean } {
  if (!url.pathname.endsWith('.ts')) return { entry: url, eval: false };
  const api = import.meta.resolve('tsx/esm/api');
  return { entry: `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`, eval: true };
}

/** A thread that died while it was supervised. */
export interface WorkerDeath {
  /** Which start it was (`SupervisedWorker.generation` while it ran). */
  generation: number;
  why: string;
  /** It died of an error of its own (uncaught exception, out of memory), not ended from outside. */
  failed: boolean;
  /** When the next thread starts. */
  restartInMs: number;
}

export interface SupervisedWorkerHooks<Out> {
  /**
   * A message of a thread that has not settled its start: 'ready', an Error (the thread cannot work:
   * supervision ends and the start rejects with it), or null (an ordinary message, see `message`).
   */
  startup(m: Out): 'ready' | Error | null;
  /** A thread is ready (called before its start resolves). */
  ready(m: Out, restart: boolean): void;
  /** Any other message of the current thread. */
  message(m: Out): void;
  /** The current thread died while supervised; a new one starts in `restartInMs`. */
  died(d: WorkerDeath): void;
}

export interface SupervisedWorkerOptions<Out> {
  /** For logs: "<name> failed", "<name> restart failed". */
  name: string;
  threadName: string;
  url: URL;
  /** The thread's workerData, read at each start. */
  workerData(first: boolean): unknown;
  logger: Logger;
  clock?: Clock;
  restartMinMs: number;
  restartMaxMs: number;
  hooks: SupervisedWorkerHooks<Out>;
}

interface Waiter<Out> {
  match(m: Out): boolean;
  resolve(m: Out | null): void;
}

export class SupervisedWorker<In, Out> {
  private worker: Worker | null = null;
  private ready = false;
  private gen = 0;
  /** running: restarts after a death; stopping: no more restarts; stopped: no thread, for good. */
  private state: 'running' | 'stopping' | 'stopped' = 'running';
  private restartTimer: TimerHandle | null = null;
  private readonly backoff: Backoff;
  private readonly clock: Clock;
  private readonly waiters = new Set<Waiter<Out>>();
  /** Called at any thread's exit while stop() waits. */
  private exitWaiter: (() => void) | null = null;

  constructor(private readonly o: SupervisedWorkerOptions<Out>) {
    this.clock = o.clock ?? keepAliveClock;
    this.backoff = new Backoff(o.restartMinMs, o.restartMaxMs);
  }

  /** A thread is running and has said it is ready. */
  get isReady(): boolean {
    return this.ready && this.worker !== null;
  }
  get stopped(): boolean {
    return this.state === 'stopped';
  }
  get thread(): Worker | null {
    return this.worker;
  }
  /** The current (or last) start, counted from 1. */
  get generation(): number {
    return this.gen;
  }

  /** Work went through: the next restart waits the shortest delay again. */
  resetBackoff(): void {
    this.backoff.reset();
  }

  /** Posts to the current thread, if any (ready or not). */
  send(m: In): void {
    this.worker?.postMessage(m);
  }

  /** Sends `m` to a ready thread and resolves with its first answer that `match`es, or null (not ready, or `timeoutMs`). */
  request<R extends Out>(m: In, match: (a: Out) => a is R, timeoutMs: number): Promise<R | null> {
    if (!this.isReady) return Promise.resolve(null);
    return new Promise((resolve) => {
      const w: Waiter<Out> = {
        match,
        resolve: (a) => {
          t.cancel();
          this.waiters.delete(w);
          resolve(a as R | null);
        },
      };
      const t = this.clock.setTimer(timeoutMs, () => w.resolve(null));
      this.waiters.add(w);
      this.send(m);
    });
  }

  /** Starts the first thread; resolves with its ready message, rejects with its start-up error. */
  start(): Promise<Out> {
    return this.spawn(true);
  }

  private spawn(first: boolean): Promise<Out> {
    const { entry, eval: isEval } = workerEntry(this.o.url);
    const worker = new Worker(entry, { eval: isEval, workerData: this.o.workerData(first), name: this.o.threadName });
    const generation = ++this.gen;
    this.worker = worker;
    this.ready = false;
    return new Promise((resolve, reject) => {
      let settled = false;
      let abandoned = false;
      let lastError: Error | null = null;
      worker.on('message', (m: Out) => {
        if (this.worker !== worker) return;
        if (!settled) {
          const s = this.o.hooks.startup(m);
          if (s === 'ready') {
            settled = true;
            this.ready = true;
            this.o.hooks.ready(m, !first);
            resolve(m);
            return;
          }
          if (s instanceof Error) {
            settled = true;
            abandoned = true;
            this.worker = null;
            this.state = 'stopped';
            void worker.terminate();
            reject(s);
            return;
          }
        }
        this.o.hooks.message(m);
        for (const w of this.waiters) if (w.match(m)) w.resolve(m);
      });
      worker.on('error', (err) => {
        lastError = err;
        this.o.logger.error({ err: err.message, stack: err.stack }, `${this.o.name} failed`);
      });
      worker.on('exit', (code) => {
        if (this.worker === worker) {
          this.worker = null;
          this.ready = false;
        }
        this.exitWaiter?.();
        if (abandoned) return;
        if (!settled) {
          settled = true;
          if (first) {
            reject(lastError ?? new Error(`${this.o.name} exited (code ${code}) before it was ready`));
            return;
          }
        }
        if (this.state !== 'running') return;
        const restartInMs = this.backoff.next();
        this.o.hooks.died({ generation, why: lastError ? lastError.message : `exit code ${code}`, failed: lastError !== null, restartInMs });
        this.restartTimer = this.clock.setTimer(restartInMs, () => {
          this.restartTimer = null;
          if (this.state !== 'running') return;
          this.spawn(false).catch((err: Error) => this.o.logger.error({ err: err.message }, `${this.o.name} restart failed`));
        });
      });
    });
  }

  /** No more restarts (a thread that dies from now on stays dead); the current thread keeps running. */
  beginStop(): void {
    if (this.state === 'running') this.state = 'stopping';
    this.restartTimer?.cancel();
    this.restartTimer = null;
  }

  /**
   * Asks the current thread to stop (`stopMessage`), waits until it says so (`isStopped`) or exits,
   * terminates it after `graceMs` + 1.5 s at the latest, and ends supervision.
   */
  async shutdown(stopMessage: In, isStopped: (m: Out) => boolean, graceMs: number): Promise<void> {
    this.beginStop();
    const worker = this.worker;
    if (worker) {
      const done = new Promise<void>((resolve) => {
        this.exitWaiter = resolve;
        this.waiters.add({ match: isStopped, resolve: () => resolve() });
      });
      this.send(stopMessage);
      const timer = this.clock.setTimer(graceMs + 1500, () => void worker.terminate());
      await done;
      timer.cancel();
      await worker.terminate();
    }
    this.state = 'stopped';
    this.worker = null;
    this.ready = false;
  }
}
