/**
 * Durability without making the event loop wait for the disk.
 *
 * The hub's database runs in WAL mode with `synchronous = NORMAL`: a commit is written to the WAL
 * file (it survives the hub being killed, the OS has it) but not fsynced, so the main thread never
 * waits for the disk — an SD card's fsync takes 10–100 ms, and here 20–250 ms while telemetry
 * writes to the same disk. This class fsyncs the WAL file on libuv's thread pool, coalescing
 * callers (group commit): `whenDurable(cb)` calls back once an fsync that started after the call has
 * completed, that is once everything committed before the call is on disk, through a power cut.
 *
 * The alarm path uses it so: journal (commit) → announce at once → acknowledge the device's event
 * (PUBACK) once durable. A power cut between the two loses that journal entry but not the alarm:
 * the device got no PUBACK and sends the event again when the hub is back.
 *
 * SQLite keeps the WAL file while a connection is open (it is reset in place after checkpoints,
 * which SQLite fsyncs itself); the file is reopened if it was replaced, and a missing WAL file
 * means everything is in the main database file already.
 */
import { close, fstat, fsync, open, stat } from 'node:fs';
import type { Logger } from '../observability/logger.ts';

export interface WalDurabilityOptions {
  /** The `-wal` file beside the database. */
  walPath: string;
  logger: Logger;
  /** Test hook: the fsync (default fs.fsync on the thread pool). */
  fsyncFile?: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;
  /** Called after each fsync with its duration (metrics). */
  observe?: (seconds: number, failed: boolean) => void;
}

type Callback = (err: Error | null) => void;

export class WalDurability {
  private fd: number | null = null;
  private ino = -1;
  private inFlight = false;
  /** Callers that need an fsync starting after their call. */
  private waiting: Callback[] = [];
  private requested = false;
  private closed = false;
  private idle: Array<() => void> = [];
  private readonly fsyncFile: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;

  constructor(private readonly opts: WalDurabilityOptions) {
    this.fsyncFile = opts.fsyncFile ?? fsync;
  }

  /** Calls back once everything committed before this call is on disk (err: the fsync failed). */
  whenDurable(cb: Callback): void {
    this.waiting.push(cb);
    this.kick();
  }

  durable(): Promise<void> {
    return new Promise((resolve) => this.whenDurable(() => resolve()));
  }

  /** Starts an fsync soon for commits nobody waits on (timers, HTTP), so they reach the disk too. */
  flushSoon(): void {
    this.requested = true;
    this.kick();
  }

  /** Syncs what is pending, then closes the file. */
  async close(): Promise<void> {
    if (this.inFlight || this.waiting.length > 0 || this.requested) await new Promise<void>((resolve) => this.idle.push(resolve));
    this.closed = true;
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      await new Promise<void>((resolve) => close(fd, () => resolve()));
    }
  }

  private kick(): void {
    if (this.inFlight) return;
    if (this.waiting.length === 0 && !this.requested) {
      const idle = this.idle;
      this.idle = [];
      for (const f of idle) f();
      return;
    }
    const batch = this.waiting;
    this.waiting = [];
    this.requested = false;
    this.inFlight = true;
    const started = performance.now();
    this.syncWal((err) => {
      this.inFlight = false;
      this.opts.observe?.((performance.now() - started) / 1000, err !== null);
      if (err) this.opts.logger.error({ err, wal: this.opts.walPath }, 'ALARM JOURNAL FSYNC FAILED: what was committed may not survive a power cut');
      for (const cb of batch) cb(err);
      this.kick();
    });
  }

  private syncWal(done: (err: Error | null) => void): void {
    if (this.closed) return done(null);
    stat(this.opts.walPath, (err, st) => {
      if (err) return done(err.code === 'ENOENT' ? null : err); // no WAL: everything is in the main file
      if (this.fd !== null && st.ino === this.ino) return this.fsyncFile(this.fd, (e) => done(e));
      this.reopen((e2) => (e2 ? done(e2.code === 'ENOENT' ? null : e2) : this.fsyncFile(this.fd!, (e) => done(e))));
    });
  }

  private reopen(done: (err: NodeJS.ErrnoException | null) => void): void {
    if (this.fd !== null) close(this.fd, () => {});
    this.fd = null;
    open(this.opts.walPath, 'r', (err, fd) => {
      if (err) return done(err);
      fstat(fd, (e, st) => {
        if (e) {
          close(fd, () => {});
          return done(e);
        }
        this.fd = fd;
        this.ino = st.ino;
        done(null);
      });
    });
  }
}
