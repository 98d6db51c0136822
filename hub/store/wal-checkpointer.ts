/**
 * Checkpoints of the hub's database off the event loop.
 *
 * In WAL mode SQLite copies the WAL back into the database file (a checkpoint) from the connection
 * that commits once the WAL passes 1,000 pages, and fsyncs the WAL and the database file while doing
 * it — on the hub's main thread, 10–100 ms on an SD card, during which no alarm moves. Here the main
 * connection's automatic checkpoints are off and a second connection, in a small worker thread, runs
 * a PASSIVE checkpoint (it never blocks the writer) every `everyMs`. If that worker fails, the main
 * connection's automatic checkpoints are turned back on: the WAL never grows without bound.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { Db } from './database.ts';
import type { Logger } from '../observability/logger.ts';

/** The worker: CommonJS, no TypeScript loader needed; one connection, PASSIVE checkpoints on request. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
parentPort.on('message', (m) => {
  if (m === 'close') { db.close(); parentPort.close(); return; }
  const started = performance.now();
  try {
    const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
    parentPort.postMessage({ ok: true, busy: r.busy, log: r.log, checkpointed: r.checkpointed, seconds: (performance.now() - started) / 1000 });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err && err.message) });
  }
});
`;

export interface CheckpointResult {
  /** Frames in the WAL, and how many of them are now in the database file. */
  log: number;
  checkpointed: number;
  seconds: number;
}

export interface WalCheckpointerOptions {
  db: Db;
  /** The database file (the worker opens its own connection to it). */
  path: string;
  logger: Logger;
  /** Interval between checkpoints (default 2 s). */
  everyMs?: number;
  /** Called after each checkpoint (metrics). */
  observe?: (r: CheckpointResult) => void;
}

type Reply = ({ ok: true } & CheckpointResult & { busy: number }) | { ok: false; error: string };

export class WalCheckpointer {
  private worker: Worker | null;
  private timer: NodeJS.Timeout | null = null;
  private waiting: Array<(r: CheckpointResult | null) => void> = [];
  private inFlight = false;
  private failed = false;

  constructor(private readonly opts: WalCheckpointerOptions) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: opts.path, driver }, name: 'smokehub-checkpoint' });
    this.worker.unref();
    this.worker.on('message', (m: Reply) => this.answered(m));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => {
      if (this.worker) this.fail(new Error(`checkpoint worker exited with code ${code}`));
    });
    opts.db.pragma('wal_autocheckpoint = 0');
    this.timer = setInterval(() => void this.checkpointNow(), opts.everyMs ?? 2000);
    this.timer.unref();
  }

  /** Runs a checkpoint now (or joins the one running); null when the worker is gone. */
  checkpointNow(): Promise<CheckpointResult | null> {
    if (!this.worker) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      if (this.inFlight) return;
      this.inFlight = true;
      this.worker!.ref(); // an answer is awaited: keep the process alive until it comes
      this.worker!.postMessage('checkpoint');
    });
  }

  /** Stops the worker; the main connection checkpoints when it closes. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const w = this.worker;
    this.worker = null;
    if (!w) return;
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.ref(); // wait for it to close its connection
    w.postMessage('close');
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000).unref());
    if ((await Promise.race([exited, timeout])) === 'timeout') await w.terminate();
    this.settle(null);
  }

  private answered(m: Reply): void {
    this.inFlight = false;
    this.worker?.unref();
    if (!m.ok) {
      this.opts.logger.warn({ err: m.error }, 'database checkpoint failed (retried)');
      this.settle(null);
      return;
    }
    const r = { log: m.log, checkpointed: m.checkpointed, seconds: m.seconds };
    this.opts.observe?.(r);
    this.settle(r);
  }

  private settle(r: CheckpointResult | null): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const f of waiting) f(r);
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.worker = null;
    this.inFlight = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.opts.logger.error({ err }, 'database checkpoint worker failed: checkpoints run on the main thread again');
    if (this.opts.db.open) this.opts.db.pragma('wal_autocheckpoint = 1000');
    this.settle(null);
  }
}
