/** The durable outgoing SMS/call queue on real SQLite files, including kill -9 of a sending process. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { openDatabase, type Db } from '../../../hub/store/database.ts';
import { OutboundQueue, defaultRetryDelayMs, type EnqueueInput } from '../../../hub/sms/outbound-queue.ts';
import { ValidationError } from '../../../hub/protocol/errors.ts';

const T0 = Date.UTC(2026, 0, 1, 19, 0);
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-outq-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
function openQueue(t: TestContext, dir = tempDir(t), opts?: ConstructorParameters<typeof OutboundQueue>[1]): { dir: string; db: Db; q: OutboundQueue } {
  const db = openDatabase(dir);
  t.after(() => {
    if (db.open) db.close();
  });
  return { dir, db, q: new OutboundQueue(db, opts) };
}
const sms = (key: string, over: Partial<EnqueueInput> = {}): EnqueueInput => ({
  kind: 'sms',
  to: '+84901000002',
  text: `text ${key}`,
  priority: 0,
  alarm: 'A1',
  household: 'H1',
  dedupeKey: key,
  ...over,
});

test('next(): the lowest priority number first, then the oldest; not before notBefore; marks sending', (t) => {
  const { q } = openQueue(t);
  q.enqueue(sms('reminder', { priority: 8 }), T0);
  q.enqueue(sms('alarm-2', { priority: 0 }), T0 + 2);
  q.enqueue(sms('alarm-1', { priority: 0 }), T0 + 1);
  q.enqueue(sms('stand-down', { priority: 1 }), T0);
  q.enqueue({ kind: 'call', to: '+84901000003', priority: 0, alarm: 'A1', household: 'H2', dedupeKey: 'call-later', notBefore: T0 + 60_000 }, T0);
  assert.equal(q.nextDueAt(), T0);
  const order: string[] = [];
  for (let item = q.next(T0 + 10); item; item = q.next(T0 + 10)) {
    assert.equal(item.state, 'sending');
    assert.equal(item.attempts, 1);
    order.push(item.dedupeKey);
  }
  assert.deepEqual(order, ['alarm-1', 'alarm-2', 'stand-down', 'reminder'], 'the call is not due yet');
  assert.equal(q.nextDueAt(), T0 + 60_000);
  const call = q.next(T0 + 60_000)!;
  assert.equal(call.dedupeKey, 'call-later');
  assert.equal(call.kind, 'call');
  assert.equal(call.text, null);
  assert.equal(q.next(T0 + 60_000), null);
  assert.equal(q.nextDueAt(), null);
  assert.deepEqual(q.counts(), { queued: 0, sending: 5, sent: 0, failed: 0, cancelled: 0 });
});

test('the dedupe key: enqueueing the same key again is a no-op, also after it was sent', (t) => {
  const { q, db } = openQueue(t);
  const a = q.enqueue(sms('A1:active:H2'), T0);
  assert.equal(a.created, true);
  const b = q.enqueue(sms('A1:active:H2', { text: 'another text', priority: 5 }), T0 + 1000);
  assert.equal(b.created, false);
  assert.equal(b.item.id, a.item.id);
  assert.equal(b.item.text, 'text A1:active:H2', 'the first enqueue wins');
  const item = q.next(T0 + 1000)!;
  assert.ok(q.markSent(item.id, T0 + 4000, { mr: 17, parts: 2 }));
  assert.equal(q.enqueue(sms('A1:active:H2'), T0 + 5000).created, false);
  assert.equal(q.next(T0 + 5000), null, 'a sent item is never handed out again');
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM outbound_messages').get() as { n: number }).n, 1);
  const sent = q.get(item.id)!;
  assert.equal(sent.state, 'sent');
  assert.equal(sent.sentAt, T0 + 4000);
  assert.deepEqual(sent.info, { mr: 17, parts: 2 });
  assert.equal(q.markSent(item.id, T0 + 6000), false, 'only a sending item can be confirmed');
});

test('markFailed: retried with backoff, given up after maxAttempts, or at once when final', (t) => {
  const { q } = openQueue(t, undefined, { maxAttempts: 3 });
  q.enqueue(sms('k'), T0);
  let now = T0;
  const retries: number[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const item = q.next(now)!;
    assert.equal(item.attempts, attempt);
    const state = q.markFailed(item.id, now, `+CMS ERROR: 38 (attempt ${attempt})`);
    if (attempt < 3) {
      assert.equal(state, 'queued');
      const back = q.get(item.id)!;
      assert.equal(back.nextAttemptAt, now + defaultRetryDelayMs(attempt));
      assert.equal(q.next(back.nextAttemptAt - 1), null, 'not before the backoff');
      retries.push(back.nextAttemptAt - now);
      now = back.nextAttemptAt;
    } else {
      assert.equal(state, 'failed');
    }
  }
  assert.deepEqual(retries, [10_000, 30_000]);
  const failed = q.getByKey('k')!;
  assert.equal(failed.state, 'failed');
  assert.equal(failed.error, '+CMS ERROR: 38 (attempt 3)');
  assert.equal(q.next(now + 3_600_000), null);

  q.enqueue(sms('explicit'), now);
  const e = q.next(now)!;
  assert.equal(q.markFailed(e.id, now, 'modem busy', now + 1234), 'queued');
  assert.equal(q.get(e.id)!.nextAttemptAt, now + 1234);
  const e2 = q.next(now + 1234)!;
  assert.equal(q.markFailed(e2.id, now + 1234, 'number not valid', null), 'failed', 'null: final');
  assert.equal(q.markFailed(e2.id, now + 1234, 'again'), null, 'not sending any more');
  assert.equal(defaultRetryDelayMs(10), 600_000, 'capped at 10 min');
});

test('cancel: only queued items matching the filter; listForAlarm shows who was texted and called', (t) => {
  const { q } = openQueue(t);
  q.enqueue(sms('A1:sms:H2', { household: 'H2' }), T0);
  q.enqueue({ kind: 'call', to: '+84901000002', priority: 2, alarm: 'A1', household: 'H2', dedupeKey: 'A1:call:H2', notBefore: T0 + 60_000 }, T0);
  q.enqueue({ kind: 'call', to: '+84901000003', priority: 2, alarm: 'A1', household: 'H3', dedupeKey: 'A1:call:H3' }, T0 + 1);
  q.enqueue({ kind: 'call', to: '+84901000004', priority: 2, alarm: 'A2', household: 'H4', dedupeKey: 'A2:call:H4' }, T0 + 2);
  const smsItem = q.next(T0 + 10)!; // the SMS (priority 0)
  q.markSent(smsItem.id, T0 + 20, { mr: 1 });
  const inFlight = q.next(T0 + 30)!; // the call to H3, being dialled
  assert.equal(inFlight.dedupeKey, 'A1:call:H3');
  assert.equal(q.cancel({ alarm: 'A1', kind: 'call' }, T0 + 40, 'alarm closed'), 1, 'only the call not yet due/started');
  assert.throws(() => q.cancel({}, T0), RangeError);
  const list = q.listForAlarm('A1');
  assert.deepEqual(
    list.map((i) => [i.dedupeKey, i.kind, i.to, i.state, i.error]),
    [
      ['A1:sms:H2', 'sms', '+84901000002', 'sent', null],
      ['A1:call:H2', 'call', '+84901000002', 'cancelled', 'alarm closed'],
      ['A1:call:H3', 'call', '+84901000003', 'sending', null],
    ],
  );
  assert.equal(list[0]!.sentAt, T0 + 20);
  assert.equal(q.getByKey('A2:call:H4')!.state, 'queued', 'another alarm untouched');
  assert.equal(q.cancel({ household: 'H4' }, T0 + 50), 1);
});

test('bad items are refused with a typed error', (t) => {
  const { q } = openQueue(t);
  const refused = (input: EnqueueInput, field: string) =>
    assert.throws(
      () => q.enqueue(input, T0),
      (e: ValidationError) => e instanceof ValidationError && e.code === 'bad_field' && (e.details as { field: string }).field === field,
    );
  refused(sms('a', { to: '0901000002' }), 'to');
  refused(sms('a', { to: '+84 901 000 002' }), 'to');
  refused(sms('a', { text: '' }), 'text');
  refused(sms('a', { text: 'x'.repeat(1601) }), 'text');
  refused({ kind: 'call', to: '+84901000002', text: 'hi', priority: 0, dedupeKey: 'c' }, 'text');
  refused(sms('a', { priority: -1 }), 'priority');
  refused(sms('a', { priority: 1.5 }), 'priority');
  refused(sms(''), 'dedupeKey');
  refused(sms('k'.repeat(201)), 'dedupeKey');
  refused({ ...sms('a'), kind: 'fax' as 'sms' }, 'kind');
  assert.deepEqual(q.counts(), { queued: 0, sending: 0, sent: 0, failed: 0, cancelled: 0 });
});

test('the queue is on disk: reopened, recover() puts interrupted items back (or gives up after maxAttempts); prune', (t) => {
  const dir = tempDir(t);
  {
    const db = openDatabase(dir);
    const q = new OutboundQueue(db, { maxAttempts: 2 });
    q.enqueue(sms('sent'), T0);
    q.enqueue(sms('interrupted'), T0 + 1);
    q.enqueue(sms('worn-out'), T0 + 2);
    q.enqueue(sms('waiting'), T0 + 3);
    q.markSent(q.next(T0 + 10)!.id, T0 + 11);
    q.next(T0 + 12); // interrupted: handed to the modem, never confirmed
    const worn = q.next(T0 + 13)!;
    q.markFailed(worn.id, T0 + 14, 'timeout', T0 + 15);
    q.next(T0 + 15); // worn-out: second attempt interrupted
    db.close();
  }
  const { q } = openQueue(t, dir, { maxAttempts: 2 });
  assert.deepEqual(q.counts(), { queued: 1, sending: 2, sent: 1, failed: 0, cancelled: 0 });
  assert.deepEqual(q.recover(T0 + 1000), { requeued: 1, failed: 1 });
  assert.equal(q.getByKey('worn-out')!.state, 'failed');
  assert.match(q.getByKey('worn-out')!.error!, /interrupted by a restart after 2 attempts/);
  const order: string[] = [];
  for (let i = q.next(T0 + 1000); i; i = q.next(T0 + 1000)) order.push(i.dedupeKey);
  assert.deepEqual(order, ['interrupted', 'waiting'], 'the sent item is not handed out again');
  assert.equal(q.getByKey('interrupted')!.attempts, 2);
  assert.equal(q.prune(T0 + 100), 1, 'only the item sent before the cut-off');
  assert.equal(q.prune(T0 + 2000), 1, 'then the one given up at recovery');
  assert.equal(q.getByKey('sent'), undefined);
  assert.equal(q.getByKey('interrupted')!.state, 'sending', 'open items are never pruned');
});

// --- kill -9 ----------------------------------------------------------------------------------

interface Child {
  child: ChildProcess;
  lines: string[];
  waitLine(re: RegExp, ms?: number): Promise<string>;
  exited: Promise<number | null>;
}
function startChild(env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/integration/sms/outbound-queue-child.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const w of [...waiters]) if (w.re.test(l)) waiters.splice(waiters.indexOf(w), 1), w.resolve(l);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitLine: (re, ms = 30_000) =>
      new Promise<string>((resolve, reject) => {
        const seen = lines.find((l) => re.test(l));
        if (seen) return resolve(seen);
        const timer = setTimeout(() => reject(new Error(`no line ${re} within ${ms} ms; got ${JSON.stringify(lines)}`)), ms);
        waiters.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
        void exited.then((code) => reject(new Error(`child exited (${code}) before ${re}; got ${JSON.stringify(lines)}`)));
      }),
  };
}
async function killHard(c: Child): Promise<void> {
  c.child.kill('SIGKILL');
  await c.exited;
}
const modemLog = (file: string) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ') as [string, string])
    : [];
const states = (dir: string) => {
  const db = openDatabase(dir);
  try {
    return new Map(
      (db.prepare('SELECT dedupe_key AS k, state FROM outbound_messages').all() as Array<{ k: string; state: string }>).map((r) => [r.k, r.state]),
    );
  } finally {
    db.close();
  }
};
const N = 20;
const KEYS = Array.from({ length: N }, (_, i) => `A1:active:H${i}`);

test('kill -9 between enqueue and send: nothing is lost, nothing is sent twice', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'modem.log');
  const env = { QUEUE_DIR: dir, QUEUE_LOG: log, QUEUE_N: String(N) };
  const first = startChild({ ...env, QUEUE_MODE: 'enqueue' });
  await first.waitLine(/^enqueued$/);
  await killHard(first);
  assert.equal(modemLog(log).length, 0, 'nothing was sent before the kill');
  assert.equal([...states(dir).values()].filter((s) => s === 'queued').length, N, 'all queued on disk');

  const second = startChild({ ...env, QUEUE_MODE: 'send', QUEUE_RUN: 'run2' });
  assert.equal(await second.exited, 0);
  assert.ok(second.lines.includes('done'));
  const sentKeys = modemLog(log).map(([, k]) => k);
  assert.deepEqual([...sentKeys].sort(), [...KEYS].sort(), 'every item sent exactly once (the replayed enqueues were no-ops)');
  // Alarm texts (priority 0: every third) went first.
  const firstSeven = sentKeys.slice(0, 7).map((k) => Number(k.split(':H')[1]));
  assert.ok(
    firstSeven.every((i) => i % 3 === 0),
    `priority 0 first: ${sentKeys.join(' ')}`,
  );
  assert.ok([...states(dir).values()].every((s) => s === 'sent'));
});

test('kill -9 after the modem took an SMS but before its confirmation: only that one is sent again', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'modem.log');
  const env = { QUEUE_DIR: dir, QUEUE_LOG: log, QUEUE_N: String(N) };
  const first = startChild({ ...env, QUEUE_MODE: 'send', QUEUE_RUN: 'run1', QUEUE_HANG_AT: '8' });
  const handed = (await first.waitLine(/^handed /)).split(' ')[1]!;
  await killHard(first);
  const atKill = states(dir);
  const confirmed = [...atKill].filter(([, s]) => s === 'sent').map(([k]) => k);
  assert.equal(confirmed.length, 7);
  assert.equal(atKill.get(handed), 'sending');

  const second = startChild({ ...env, QUEUE_MODE: 'send', QUEUE_RUN: 'run2' });
  assert.equal(await second.exited, 0);
  assert.ok(second.lines.includes('recovered 1'));
  const entries = modemLog(log);
  const run2 = entries.filter(([r]) => r === 'run2').map(([, k]) => k);
  assert.deepEqual([...new Set(entries.map(([, k]) => k))].sort(), [...KEYS].sort(), 'none lost');
  for (const k of confirmed) assert.ok(!run2.includes(k), `${k} was confirmed before the kill and not sent again`);
  assert.deepEqual(
    entries.filter(([, k]) => k === handed).map(([r]) => r),
    ['run1', 'run2'],
    'the unconfirmed one is sent again (documented)',
  );
  assert.equal(entries.length, N + 1);
  assert.ok([...states(dir).values()].every((s) => s === 'sent'));
});

test('kill -9 at an arbitrary moment while sending: none lost, none confirmed-sent twice, at most one duplicate', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'modem.log');
  const env = { QUEUE_DIR: dir, QUEUE_LOG: log, QUEUE_N: String(N) };
  const first = startChild({ ...env, QUEUE_MODE: 'send', QUEUE_RUN: 'run1', QUEUE_DELAY_MS: '15' });
  const deadline = Date.now() + 30_000;
  while (modemLog(log).length < 6) {
    assert.ok(Date.now() < deadline, 'the first run sends');
    await new Promise((r) => setTimeout(r, 5));
  }
  await killHard(first);
  const atKill = states(dir);
  const confirmed = new Set([...atKill].filter(([, s]) => s === 'sent').map(([k]) => k));
  assert.ok(confirmed.size < N, 'killed before the end');

  const second = startChild({ ...env, QUEUE_MODE: 'send', QUEUE_RUN: 'run2' });
  assert.equal(await second.exited, 0);
  const entries = modemLog(log);
  const keys = entries.map(([, k]) => k);
  assert.deepEqual([...new Set(keys)].sort(), [...KEYS].sort(), 'none lost');
  const twice = [...new Set(keys.filter((k, i) => keys.indexOf(k) !== i))];
  assert.ok(twice.length <= 1, `at most the one in flight is duplicated: ${twice}`);
  for (const k of twice) assert.ok(!confirmed.has(k), `${k} was confirmed-sent yet sent again`);
  for (const [r, k] of entries) if (r === 'run2') assert.ok(!confirmed.has(k), `${k} confirmed before the kill, sent again`);
});
