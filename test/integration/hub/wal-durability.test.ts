import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fsync, mkdtempSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WalDurability } from '../../../hub/store/wal-durability.ts';
import { openDatabase } from '../../../hub/store/database.ts';
import { silentLogger } from '../../../hub/observability/logger.ts';
import { startTestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox } from '../../helpers/mqtt-clients.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-wal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An fsync the test completes by hand. */
function manualFsync() {
  const pending: Array<{ fd: number; done: (err: NodeJS.ErrnoException | null) => void }> = [];
  return {
    pending,
    fsyncFile: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void pending.push({ fd, done }),
    async next(): Promise<{ fd: number; done: (err: NodeJS.ErrnoException | null) => void }> {
      for (let i = 0; i < 200 && pending.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      assert.ok(pending.length > 0, 'an fsync was started');
      return pending.shift()!;
    },
  };
}

test('group commit: callers wait for an fsync that started after them; one fsync serves everyone waiting', async (t) => {
  const dir = tempDir(t);
  const wal = join(dir, 'x.db-wal');
  writeFileSync(wal, 'frames');
  const f = manualFsync();
  const d = new WalDurability({ walPath: wal, logger: silentLogger(), fsyncFile: f.fsyncFile });
  const called: string[] = [];
  d.whenDurable(() => called.push('a'));
  const first = await f.next();
  d.whenDurable(() => called.push('b')); // after the first fsync started: it needs the next one
  d.whenDurable(() => called.push('c'));
  assert.deepEqual(called, [], 'nobody is called before an fsync completes');
  first.done(null);
  assert.deepEqual(called, ['a']);
  const second = await f.next();
  assert.equal(f.pending.length, 0, 'b and c share one fsync');
  second.done(null);
  assert.deepEqual(called, ['a', 'b', 'c']);
  await d.close();
});

test('the WAL file is reopened when it was replaced; a missing WAL file needs no fsync', async (t) => {
  const dir = tempDir(t);
  const wal = join(dir, 'x.db-wal');
  const f = manualFsync();
  const d = new WalDurability({ walPath: wal, logger: silentLogger(), fsyncFile: f.fsyncFile });
  await d.durable(); // no file: everything is in the main database file
  assert.equal(f.pending.length, 0);
  writeFileSync(wal, 'one');
  const p1 = d.durable();
  const s1 = await f.next();
  s1.done(null);
  await p1;
  unlinkSync(wal);
  writeFileSync(wal, 'two');
  const p2 = d.durable();
  const s2 = await f.next();
  s2.done(null);
  await p2;
  const p3 = d.durable();
  const s3 = await f.next();
  s3.done(null);
  await p3;
  assert.equal(s3.fd, s2.fd, 'the same file keeps its descriptor');
  assert.ok(statSync(wal).size > 0);
  await d.close();
});

test('an fsync error reaches the callers, is counted and logged, and the next call tries again', async (t) => {
  const dir = tempDir(t);
  const wal = join(dir, 'x.db-wal');
  writeFileSync(wal, 'frames');
  const f = manualFsync();
  const observed: boolean[] = [];
  const d = new WalDurability({ walPath: wal, logger: silentLogger(), fsyncFile: f.fsyncFile, observe: (_s, failed) => observed.push(failed) });
  const errs: Array<Error | null> = [];
  d.whenDurable((e) => errs.push(e));
  (await f.next()).done(Object.assign(new Error('EIO'), { code: 'EIO' }));
  assert.equal(errs[0]?.message, 'EIO');
  d.whenDurable((e) => errs.push(e));
  (await f.next()).done(null);
  assert.deepEqual(errs.slice(1), [null]);
  assert.deepEqual(observed, [true, false]);
  await d.close();
});

test('with a real SQLite database (WAL, synchronous NORMAL) commits are made durable by a real fsync', async (t) => {
  const dir = tempDir(t);
  const db = openDatabase(dir, 'real.db', { synchronous: 'NORMAL' });
  t.after(() => db.close());
  assert.equal(db.pragma('synchronous', { simple: true }), 1, 'NORMAL');
  db.exec('CREATE TABLE t (x INTEGER)');
  let fsyncs = 0;
  const d = new WalDurability({ walPath: join(dir, 'real.db-wal'), logger: silentLogger(), fsyncFile: (fd, done) => (fsyncs++, fsync(fd, done)) });
  for (let i = 0; i < 100; i++) db.prepare('INSERT INTO t VALUES (?)').run(i);
  await Promise.all(Array.from({ length: 10 }, () => d.durable()));
  assert.ok(fsyncs >= 1 && fsyncs <= 2, `${fsyncs} fsyncs for 10 callers`);
  await d.close();
});

test('the hub announces an alarm at once and acknowledges the event only once the journal is on disk', { timeout: 30_000 }, async (t) => {
  const SLOW_MS = 400;
  // A disk whose fsync takes 400 ms (an SD card on a bad day).
  const th = await startTestHub({ extensions: [], fsyncFile: (fd, done) => setTimeout(() => fsync(fd, done), SLOW_MS) });
  const pool = new ClientPool();
  t.after(async () => {
    await pool.closeAll();
    await th.stop();
  });
  const origin = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'));
  const neighbour = await pool.device(th.mqttUrl, th.device('t1-h2-smoke'));
  await neighbour.subscribeAsync('smokehub/h/t1-h2/alert', { qos: 1 });
  const inbox = new Inbox(neighbour);
  await new Promise((r) => setTimeout(r, SLOW_MS * 2.5)); // the hub's own start-up writes are on disk

  const t0 = performance.now();
  let alertAt = 0;
  const alerted = inbox.next((m) => m.json().state === 'active', 5000, 'active alert').then(() => (alertAt = performance.now() - t0));
  await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'slow-disk-1', type: 'smoke' }), { qos: 1 });
  const ackAt = performance.now() - t0;
  await alerted;
  assert.ok(alertAt < SLOW_MS / 2, `the neighbour was alerted in ${alertAt.toFixed(1)} ms, not after the fsync`);
  assert.ok(ackAt >= SLOW_MS * 0.9, `the device's PUBACK came after the fsync (${ackAt.toFixed(0)} ms)`);
  assert.ok(alertAt < ackAt);
  assert.equal(th.hub.alarms.openViews().length, 1);

  // The HTTP API answers a response once it is on disk, too.
  const token = await th.login('admin', th.adminPassword);
  const alarm = th.hub.alarms.openViews()[0]!.alarm;
  const h0 = performance.now();
  const r = await th.api(token, `/api/alarms/${alarm}/respond`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ household: 't1-h3', response: 'coming' }),
  });
  assert.equal(r.status, 200);
  assert.ok(performance.now() - h0 >= SLOW_MS * 0.9, 'answered after the fsync');
  const metrics = await (await fetch(`${th.httpUrl}/metrics`)).text();
  assert.ok(Number(/^smokehub_journal_fsync_seconds_count (\d+)$/m.exec(metrics)?.[1]) >= 2, 'fsyncs are measured');
});

test('writes nobody waits on reach the disk within a second; an idle hub does not fsync', { timeout: 30_000 }, async (t) => {
  let fsyncs = 0;
  const th = await startTestHub({ extensions: [], fsyncFile: (fd, done) => (fsyncs++, fsync(fd, done)) });
  t.after(() => th.stop());
  await new Promise((r) => setTimeout(r, 1500)); // start-up writes flushed
  const settled = fsyncs;
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(fsyncs, settled, 'no fsync while nothing is written');
  await th.login('admin', th.adminPassword); // writes a session row; nobody waits for its fsync
  const deadline = Date.now() + 2500;
  while (fsyncs === settled && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(fsyncs > settled, 'the session reached the disk within the flush interval');
});
