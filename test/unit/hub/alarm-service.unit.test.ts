/**
 * hub/app/alarm-service.ts with the real (pure) alarm engine and fakes for everything else: a manual
 * clock, a publisher, a bus and an in-memory journal behind a writer that can be made to fail.
 * The contract: an input's journal writes are committed first (a device event's de-duplication
 * mark and its transitions in one transaction), then its deadlines are armed, then it is announced
 * (alerts, station, sounder commands, the retained open-alarm state), then the bus hears it. When
 * the journal cannot be written the alarm is still announced at once from memory, and
 * acknowledgements (`whenDurable`) wait until the writes land.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlarmEngine, type AlarmRecord, type Directory } from '../../../hub/core/alarm-engine.ts';
import { ManualClock, type Clock } from '../../../hub/core/clock.ts';
import { MetricsRegistry } from '../../../hub/observability/metrics.ts';
import type { Logger } from '../../../hub/observability/logger.ts';
import type { AlarmRow, JournalEntry } from '../../../hub/store/alarm-journal.ts';
import { AlarmService } from '../../../hub/app/alarm-service.ts';
import { LateBoundPublisher } from '../../../hub/app/late-publisher.ts';
import type { HubBus, PublishOptions } from '../../../hub/app/context.ts';
import { ERROR_CODES, SmokehubError } from '../../../hub/protocol/errors.ts';
import type { AlarmView, OpenAlarmsState } from '../../../hub/protocol/schema.ts';
import { topics } from '../../../hub/protocol/topics.ts';

const T0 = Date.UTC(2026, 10, 29, 8, 0, 0);
const VERIFY_MS = 20_000;
const TEAM = ['h1', 'h2', 'h3'];
const directory: Directory = {
  household: (id) => (TEAM.includes(id) ? { id, team: 't1', name: `Nhà ${id}`, address: `${id} Lê Lợi`, lat: 20.95, lon: 107.08 } : undefined),
  householdsOfTeam: () => TEAM,
};
const src = (household: string) => ({ team: 't1', household, device: `${household}-smoke`, kind: 'smoke' as const });
const smoke = (id: string) => ({ id, type: 'smoke' as const });

const silent = (): Logger => {
  const l = { child: () => l, trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {} };
  return l as unknown as Logger;
};

/**
 * The journal and its writer, in memory. `mode`: 'ok'; 'fails' (a transaction runs, then its commit
 * fails and is rolled back: a full disk); 'behind' (earlier writes wait, so nothing is attempted).
 * Failed writes wait in `backlog` until `land()`; `whenDurable` waits for them.
 */
function fakeJournal(log: string[], restored: AlarmRecord[] = []) {
  const disk = { entries: [] as JournalEntry[], seen: new Set<string>(), notes: [] as string[] };
  const closed = new Map<string, AlarmRow>();
  let tx: typeof disk | null = null;
  const inTx = () => {
    assert.ok(tx, 'journal written outside a transaction');
    return tx;
  };
  const journal = {
    openRecords: () => restored,
    markEventSeen: (device: string, id: string) => {
      const k = `${device}/${id}`;
      if (disk.seen.has(k) || inTx().seen.has(k)) return false;
      inTx().seen.add(k);
      return true;
    },
    isEventSeen: (device: string, id: string) => disk.seen.has(`${device}/${id}`),
    get: (id: string) => closed.get(id),
    note: (alarmId: string, _at: number, transition: string) => {
      inTx().notes.push(`${alarmId} ${transition}`);
      return true;
    },
    write: (e: JournalEntry) => void inTx().entries.push(e),
  };
  let mode: 'ok' | 'fails' | 'behind' = 'ok';
  const backlog: Array<() => void> = [];
  const waiting: Array<() => void> = [];
  const run = (fn: () => void): boolean => {
    const t: typeof disk = { entries: [], seen: new Set(), notes: [] };
    tx = t;
    try {
      fn();
    } finally {
      tx = null;
    }
    if (mode !== 'ok') return false; // rolled back
    disk.entries.push(...t.entries);
    for (const k of t.seen) disk.seen.add(k);
    disk.notes.push(...t.notes);
    if (t.entries.length + t.seen.size + t.notes.length > 0)
      log.push(`commit ${[...[...t.seen].map((k) => `seen:${k}`), ...t.entries.map((e) => e.transition), ...t.notes].join(' ')}`);
    return true;
  };
  const writer = {
    attempt: (fn: () => void) => mode !== 'behind' && backlog.length === 0 && run(fn),
    commit: (write: () => void) => {
      if (mode === 'behind' || backlog.length > 0 || !run(write)) backlog.push(write);
    },
    whenDurable: (cb: () => void) => {
      if (backlog.length > 0) waiting.push(cb);
      else cb();
    },
    stop: () => void log.push('writer stopped'),
  };
  return {
    journal,
    writer,
    disk,
    closed,
    backlog,
    fail: (m: 'fails' | 'behind') => void (mode = m),
    /** The disk has room again: the backlog lands in one transaction, waiting acknowledgements are given. */
    land: () => {
      mode = 'ok';
      const batch = backlog.splice(0);
      run(() => {
        for (const w of batch) w();
      });
      for (const cb of waiting.splice(0)) cb();
    },
  };
}

function setup(opts: { restored?: AlarmRecord[]; households?: string[] } = {}) {
  const log: string[] = [];
  const manual = new ManualClock(T0);
  // Deadlines armed show in the log, in order with commits and publishes.
  const clock: Clock = {
    now: () => manual.now(),
    setTimer: (ms, fn) => {
      log.push(`timer +${ms}`);
      return manual.setTimer(ms, fn);
    },
  };
  const store = fakeJournal(log, opts.restored);
  const published: Array<{ topic: string; payload: string; opts?: PublishOptions }> = [];
  const mqtt = {
    publish: (topic: string, payload: string | Buffer, o?: PublishOptions, done?: (err: Error | null) => void) => {
      published.push({ topic, payload: String(payload), opts: o });
      log.push(`publish ${topic}`);
      done?.(null);
    },
  };
  const bus = {
    on: () => () => {},
    removeOwner: () => {},
    emit: (event: string, ...args: unknown[]) => {
      if (event === 'alarm-changed') log.push(`bus ${(args[0] as AlarmView).state} ${args[1]}`);
    },
  } as HubBus;
  let n = 0;
  const engine = new AlarmEngine(
    { verifyWindowMs: VERIFY_MS, escalateAfterMs: 120_000, resolveQuietMs: 60_000, hushPeriodMs: 300_000 },
    directory,
    () => `A${++n}`,
  );
  const alarms = new AlarmService({
    engine,
    journal: store.journal,
    writer: store.writer,
    mqtt,
    clock,
    bus,
    logger: silent(),
    metrics: new MetricsRegistry(),
    devicesOf: (h) => [{ id: `${h}-smoke` }, { id: `${h}-sounder` }],
    allHouseholds: () => opts.households ?? TEAM,
  });
  const alerts = (topic: string) => published.filter((p) => p.topic === topic).map((p) => JSON.parse(p.payload) as AlarmView);
  return { alarms, store, published, log, clock: manual, alerts };
}

const alert = (h: string) => topics.household(h, 'alert');
const retainedOf = (h: string) => topics.household(h, 'alarms');

test('a smoke event: de-duplication mark and transition committed together, deadline armed, then announced, then the bus', () => {
  const t = setup();
  assert.equal(t.alarms.handleDeviceEvent(src('h1'), smoke('e1'), T0), true);
  assert.deepEqual(t.log, [
    'commit seen:h1-smoke/e1 raised',
    `timer +${VERIFY_MS}`,
    `publish ${alert('h1')}`,
    `publish ${topics.station('alarm')}`,
    `publish ${retainedOf('h1')}`,
    `publish ${topics.station('alarms')}`,
    'bus pre-alarm raised',
  ]);
  const [view] = t.alerts(alert('h1'));
  assert.equal(view?.state, 'pre-alarm');
  assert.deepEqual(
    t.published.filter((p) => p.topic.endsWith('/alert') || p.topic.endsWith('/alarm')).map((p) => p.opts),
    [{ qos: 1 }, { qos: 1 }],
  );
  const retained = t.published.find((p) => p.topic === retainedOf('h1'));
  assert.deepEqual(retained?.opts, { qos: 1, retain: true });
  assert.deepEqual(
    (JSON.parse(retained!.payload) as OpenAlarmsState).open.map((v) => v.alarm),
    [view!.alarm],
  );
  assert.deepEqual(
    t.store.disk.entries.map((e) => [e.transition, e.view?.state ?? null]),
    [['raised', 'pre-alarm']],
  );
});

test('a duplicate event is not journalled again, not announced, and says so', () => {
  const t = setup();
  t.alarms.handleDeviceEvent(src('h1'), smoke('e1'), T0);
  const before = t.log.length;
  assert.equal(t.alarms.handleDeviceEvent(src('h1'), smoke('e1'), T0 + 5), false);
  assert.deepEqual(t.log.slice(before), []);
});

test('the verify window passes on the clock: the activation is committed, then the whole team is alerted', () => {
  const t = setup();
  t.alarms.handleDeviceEvent(src('h1'), smoke('e1'), T0);
  t.log.length = 0;
  t.published.length = 0;
  t.clock.advance(VERIFY_MS);
  const firstPublish = t.log.findIndex((l) => l.startsWith('publish'));
  assert.ok(t.log.findIndex((l) => l.startsWith('commit') && l.includes('activated')) >= 0, t.log.join('\n'));
  assert.ok(t.log.findIndex((l) => l.startsWith('commit')) < firstPublish, 'committed before announced');
  for (const h of TEAM) assert.equal(t.alerts(alert(h)).at(-1)?.state, 'active', h);
  assert.ok(t.log.some((l) => l.startsWith('bus active')));
});

test('the journal fails mid-transaction (full disk): the alarm is announced at once, the acknowledgement waits until it is written', () => {
  const t = setup();
  t.store.fail('fails');
  assert.equal(t.alarms.handleDeviceEvent(src('h1'), smoke('e1'), T0), true);
  assert.equal(t.alerts(alert('h1'))[0]?.state, 'pre-alarm', 'announced from memory');
  assert.equal(t.store.disk.entries.length, 0, 'nothing on disk yet');
  let acked = false;
  t.alarms.whenDurable(() => {
    acked = true;
  });
  assert.equal(acked, false, 'no PUBACK before the write lands');
  // A resend before the disk recovers is still a duplicate (remembered in memory).
  assert.equal(t.alarms.handleDeviceEvent(src('h1'), smoke('e1'), T0 + 100), false);
  assert.equal(t.alerts(alert('h1')).length, 1);
  t.store.land();
  assert.equal(acked, true);
  assert.deepEqual(
    t.store.disk.entries.map((e) => e.transition),
    ['raised'],
  );
  assert.ok(t.store.disk.seen.has('h1-smoke/e1'), 'the de-duplication mark is written with it');
});

test('the journal is behind (earlier writes wait): a new event is handled and announced in order, its writes queued behind', () => {
  const t = setup();
  t.store.fail('behind');
  assert.equal(t.alarms.handleDeviceEvent(src('h2'), smoke('e7'), T0), true);
  assert.equal(t.alerts(alert('h2'))[0]?.state, 'pre-alarm');
  assert.equal(t.store.backlog.length, 1);
  let acked = false;
  t.alarms.whenDurable(() => {
    acked = true;
  });
  assert.equal(acked, false);
  t.store.land();
  assert.equal(acked, true);
  assert.deepEqual(
    t.store.disk.entries.map((e) => e.transition),
    ['raised'],
  );
});

test('a response is journalled before it is announced; refused responses throw typed errors', () => {
  const t = setup();
  t.alarms.handleDeviceEvent(src('h1'), smoke('e1'), T0);
  const id = t.alerts(alert('h1'))[0]!.alarm;
  t.log.length = 0;
  const view = t.alarms.respond('h1', id, 'false-alarm', { by: { kind: 'user', id: 'lan', role: 'household' }, via: 'mqtt' });
  assert.equal(view.state, 'hushed');
  const firstCommit = t.log.findIndex((l) => l.startsWith('commit'));
  assert.ok(firstCommit >= 0 && firstCommit < t.log.findIndex((l) => l.startsWith('publish')), t.log.join('\n'));
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof SmokehubError);
      return err.code;
    }
    assert.fail('not refused');
  };
  const by = { by: { kind: 'user' as const, id: 'lan', role: 'household' }, via: 'mqtt' as const };
  assert.equal(
    code(() => t.alarms.respond('h1', 'A404', 'coming', by)),
    ERROR_CODES.NOT_FOUND,
  );
  t.store.closed.set('A9', { view: { ...view, alarm: 'A9', state: 'resolved' }, closedAt: T0, falseAlarm: false });
  assert.equal(
    code(() => t.alarms.respond('h1', 'A9', 'coming', by)),
    ERROR_CODES.CONFLICT,
    'an alarm already closed',
  );
});

test('start(): open alarms are restored from the journal, every retained state is published, deadlines re-armed', () => {
  const first = setup();
  first.alarms.handleDeviceEvent(src('h1'), smoke('e1'), T0);
  const open = first.store.disk.entries.map((e) => e.record);
  const id = open[0]!.id;

  const t = setup({ restored: open });
  t.alarms.start();
  const retained = (topic: string) => JSON.parse(t.published.find((p) => p.topic === topic)!.payload) as OpenAlarmsState;
  assert.deepEqual(
    retained(retainedOf('h1')).open.map((v) => v.alarm),
    [id],
  );
  assert.deepEqual(retained(retainedOf('h2')).open, [], 'a household not concerned yet');
  assert.deepEqual(
    retained(topics.station('alarms')).open.map((v) => v.alarm),
    [id],
  );
  assert.ok(t.log.includes(`timer +${VERIFY_MS}`), 'the verify window is armed again');
  t.clock.advance(VERIFY_MS);
  assert.equal(t.alerts(alert('h3')).at(-1)?.state, 'active', 'and fires');
});

test('the subscribe catch-up reads open alarms; telemetry without fire evidence writes and publishes nothing', () => {
  const t = setup();
  t.alarms.handleDeviceEvent(src('h1'), smoke('e1'), T0);
  assert.deepEqual(
    t.alarms.concerning('h1').map((v) => v.state),
    ['pre-alarm'],
  );
  assert.deepEqual(t.alarms.concerning('h2'), [], 'neighbours are told only once it is active');
  assert.equal(t.alarms.openViews().length, 1);
  const before = t.log.length;
  t.alarms.handleTelemetry(src('h2'), { values: { temperature: 24 } }, T0 + 1);
  assert.deepEqual(t.log.slice(before), []);
});

test('stop(): no deadline fires afterwards', () => {
  const t = setup();
  t.alarms.handleDeviceEvent(src('h1'), smoke('e1'), T0);
  t.alarms.stop();
  const before = t.published.length;
  t.clock.advance(VERIFY_MS * 10);
  assert.equal(t.published.length, before);
  assert.ok(t.log.includes('writer stopped'));
});

test('the late-bound publisher (hub.ts): forwards once bound, refuses loudly before, binds once', () => {
  const p = new LateBoundPublisher();
  assert.throws(() => p.publish('smokehub/station/alarm', '{}', { qos: 1 }), /before the broker was bound/);
  const got: unknown[] = [];
  const target = { publish: (...args: unknown[]) => void got.push(args) };
  p.bind(target);
  const done = () => {};
  p.publish('smokehub/h/h1/alert', 'x', { qos: 1 }, done);
  assert.deepEqual(got, [['smokehub/h/h1/alert', 'x', { qos: 1 }, done]]);
  assert.throws(() => p.bind(target), /already bound/);
});
