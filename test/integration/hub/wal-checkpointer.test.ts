import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { openDatabase } from '../../../hub/store/database.ts';
import { WalCheckpointer } from '../../../hub/store/wal-checkpointer.ts';
import { silentLogger } from '../../../hub/observability/logger.ts';

function setUp(t: { after: (fn: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-ckpt-'));
  const db = openDatabase(dir, 'hub.db', { synchronous: 'NORMAL' });
  t.after(() => {
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  db.exec('CREATE TABLE t (x INTEGER, pad TEXT)');
  const insert = db.prepare('INSERT INTO t VALUES (?, ?)');
  const write = (n: number) => {
    for (let i = 0; i < n; i++) insert.run(i, 'x'.repeat(200)); // one transaction (and WAL frame) each
  };
  return { dir, db, write, wal: join(dir, 'hub.db-wal') };
}

test('checkpoints run in the worker, not on the committing connection', async (t) => {
  const { dir, db, write, wal } = setUp(t);
  let observed = 0;
  const cp = new WalCheckpointer({ db, path: join(dir, 'hub.db'), logger: silentLogger(), everyMs: 3_600_000, observe: () => observed++ });
  t.after(() => cp.close());
  assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0, 'the main connection no longer checkpoints');
  write(2500);
  assert.ok(statSync(wal).size > 1000 * 4096, `the WAL grew past SQLite's automatic checkpoint (${statSync(wal).size} bytes)`);
  const r = await cp.checkpointNow();
  assert.ok(r && r.log >= 1000, `WAL frames: ${r?.log}`);
  assert.equal(r.checkpointed, r.log, 'everything copied into the database file');
  assert.equal(observed, 1);
  // The next write resets the WAL in place: it does not keep growing.
  write(10);
  const again = await cp.checkpointNow();
  assert.ok(again && again.log < 100, `WAL restarted (${again?.log} frames)`);
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 2510);
});

test('if the worker dies, the main connection checkpoints again', async (t) => {
  const { dir, db } = setUp(t);
  const cp = new WalCheckpointer({ db, path: join(dir, 'hub.db'), logger: silentLogger(), everyMs: 3_600_000 });
  t.after(() => cp.close());
  assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0);
  await (cp as unknown as { worker: Worker }).worker.terminate(); // a crash of the worker thread
  for (let i = 0; i < 50 && db.pragma('wal_autocheckpoint', { simple: true }) === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000);
  assert.equal(await cp.checkpointNow(), null);
});
