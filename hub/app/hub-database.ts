/**
 * The hub's SQLite database and how its commits become durable: fsynced off the event loop
 * (store/wal-durability.ts: an event is acknowledged to its device once durable) and checkpointed
 * in a worker (store/wal-checkpointer.ts), or, with `journalSync: 'full'`, fsynced on the event
 * loop at every commit (benchmarks compare). A cluster node keeps this database for what is its own.
 */
import { join } from 'node:path';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry } from '../observability/metrics.ts';
import { DB_FILE, openDatabase, type Db } from '../store/database.ts';
import { WalCheckpointer } from '../store/wal-checkpointer.ts';
import { WalDurability, type WalDurabilityOptions } from '../store/wal-durability.ts';

export interface HubDatabase {
  db: Db;
  durability: WalDurability | null;
  checkpointer: WalCheckpointer | null;
}

export function openHubDatabase(
  dataDir: string,
  o: { journalSync?: 'async' | 'full'; fsyncFile?: WalDurabilityOptions['fsyncFile']; logger: Logger; metrics: MetricsRegistry },
): HubDatabase {
  const syncOnLoop = o.journalSync === 'full';
  const db: Db = openDatabase(dataDir, DB_FILE, { synchronous: syncOnLoop ? 'FULL' : 'NORMAL' });
  if (syncOnLoop) return { db, durability: null, checkpointer: null };
  const fsyncSeconds = o.metrics.histogram(
    'smokehub_journal_fsync_seconds',
    'fsync of the hub database WAL (off the event loop)',
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
  );
  const fsyncErrors = o.metrics.counter('smokehub_journal_fsync_errors_total', 'Failed fsyncs of the hub database WAL');
  const durability = new WalDurability({
    walPath: join(dataDir, `${DB_FILE}-wal`),
    logger: o.logger,
    fsyncFile: o.fsyncFile,
    observe: (seconds, failed) => (failed ? fsyncErrors.inc() : fsyncSeconds.observe(seconds)),
  });
  // Checkpoints (WAL → database file, with their fsyncs) run in a worker's connection, not on the event loop.
  const checkpointSeconds = o.metrics.histogram(
    'smokehub_journal_checkpoint_seconds',
    'checkpoints of the hub database (in a worker thread)',
    [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5],
  );
  const checkpointer = new WalCheckpointer({ db, path: join(dataDir, DB_FILE), logger: o.logger, observe: (r) => checkpointSeconds.observe(r.seconds) });
  return { db, durability, checkpointer };
}
