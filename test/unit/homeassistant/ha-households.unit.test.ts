/** Which households are served and what each gets, with a recording publisher (no broker). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HaHouseholds, CHUNK_HOUSEHOLDS } from '../../../hub/homeassistant/ha-households.ts';
import { silentLogger } from '../../../hub/observability/logger.ts';
import { MetricsRegistry } from '../../../hub/observability/metrics.ts';
import type { User } from '../../../hub/store/registry-types.ts';
import type { AlarmView } from '../../../hub/protocol/schema.ts';
import type { TreeMessage } from '../../../hub/broker/ports.ts';

function setup(households: number, announced?: { has(h: string): boolean; add(h: string, at: number): void }) {
  const published: Array<{ topic: string; payload: string }> = [];
  const users: User[] = [];
  const hs = Array.from({ length: households }, (_, i) => ({
    id: `H${i}`,
    team: 'T',
    name: `Nhà ${i}`,
    address: '',
    phone: '',
    phones: [],
    lat: null,
    lon: null,
    card: {},
  }));
  const open: AlarmView[] = [];
  const responses: Array<[string, string, string]> = [];
  const metrics = new MetricsRegistry();
  let turns = 0;
  const ha = new HaHouseholds({
    mqtt: {
      publish(topic, payload, _o, done) {
        published.push({ topic, payload: String(payload) });
        setImmediate(() => done?.(null));
      },
    },
    alarms: {
      concerning: () => open,
      respond: (h, alarm, response) => {
        responses.push([h, alarm, response]);
        return open[0]!;
      },
    },
    registry: {
      getHousehold: (id) => hs.find((h) => h.id === id) as any,
      householdsOfTeam: () => hs as any,
      listDevices: ({ household } = {}) => [{ id: `${household}-smoke`, household: household!, team: 'T', kind: 'smoke', enrolledAt: 0 }],
      listUsers: () => users,
    },
    discovery: { lang: 'en', version: 'test' },
    log: silentLogger(),
    now: () => 1_000,
    published: metrics.counter('p', 'p'),
    presses: metrics.counter('q', 'q'),
    batteries: new Map([['H0-smoke', { percent: 55.4, at: 1 }]]),
    announced,
  });
  const tick = setInterval(() => turns++, 0);
  return { ha, published, users, open, responses, turns: () => turns, stopTicks: () => clearInterval(tick) };
}

/** Waits for a condition (polled every 10 ms), failing after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const press = (household: string, payload: string, path = 'respond'): TreeMessage => ({
  principal: { type: 'user', username: `u-${household}`, role: 'household', team: 'T', household },
  clientId: 'ha',
  household,
  path: [path],
  payload: Buffer.from(payload),
  now: 10_000,
});

test('only households with a household user are served; one that loses its last user has its entities removed', async () => {
  const s = setup(3);
  s.users.push({ username: 'u0', role: 'household', team: 'T', household: 'H0' }, { username: 'st', role: 'station', team: null, household: null });
  await s.ha.rescan();
  assert.equal(s.ha.count(), 1);
  const h0 = s.published.filter((p) => p.topic.startsWith('smokehub/h/H0/homeassistant/'));
  assert.equal(h0.length, 9, '5 configs, availability, state, battery config and state');
  assert.ok(h0.some((p) => p.topic === 'smokehub/h/H0/homeassistant/battery/H0-smoke' && JSON.parse(p.payload).battery === 55));
  assert.ok(!s.published.some((p) => p.topic.includes('/H1/')));
  s.users.length = 0;
  s.published.length = 0;
  await s.ha.rescan();
  assert.equal(s.ha.count(), 0);
  assert.equal(s.published.length, 9, 'every retained topic emptied');
  assert.ok(s.published.every((p) => p.payload === ''));
  s.stopTicks();
});

test('many households are published a chunk per turn, never all at once', async () => {
  const s = setup(CHUNK_HOUSEHOLDS * 5);
  for (let i = 0; i < CHUNK_HOUSEHOLDS * 5; i++) s.users.push({ username: `u${i}`, role: 'household', team: 'T', household: `H${i}` });
  const before = s.turns();
  await s.ha.rescan();
  assert.equal(s.ha.count(), CHUNK_HOUSEHOLDS * 5);
  assert.ok(s.turns() - before >= 4, `the event loop turned between chunks (${s.turns() - before} turns)`);
  s.stopTicks();
});

test("HA's birth serves a household at once (a user added since the last scan); births close together are answered once more at the end", async () => {
  const s = setup(2);
  assert.equal(
    s.ha.handle(press('H1', 'online', 'status'), () => assert.fail('not rejected')),
    'drop',
  );
  assert.ok(s.ha.isServed('H1'));
  const n = s.published.length;
  assert.equal(n, 7, '5 configs, availability, state (no battery known)');
  s.ha.handle({ ...press('H1', 'online', 'status'), now: 10_500 }, () => assert.fail());
  assert.equal(s.published.length, n, 'not again at once');
  await until(() => s.published.length === 2 * n, 5000, 'once more after the interval');
  const issues: string[] = [];
  s.ha.handle(press('H1', 'hello', 'status'), (i) => issues.push(i[0]!.code));
  s.ha.handle(press('H1', 'offline', 'status'), (i) => issues.push(i[0]!.code));
  assert.deepEqual(issues, ['bad_payload'], "HA's will (offline) is fine, anything else is refused");
  s.ha.stop();
  s.stopTicks();
});

test('a press answers the alarm of another household; none open, or a bad payload, is refused', () => {
  const s = setup(2);
  const issues: string[] = [];
  const reject = (i: Array<{ code: string }>) => issues.push(i[0]!.code);
  s.ha.handle(press('H1', 'coming'), reject);
  s.open.push({
    alarm: 'A1',
    state: 'active',
    kind: 'smoke',
    team: 'T',
    origin: { household: 'H0', name: '', address: '', lat: null, lon: null, device: 'H0-smoke' },
    raisedAt: 1,
    updatedAt: 1,
    responders: [],
  });
  s.ha.handle(press('H1', 'need-help'), reject);
  s.ha.handle(press('H1', '{"response":"coming"}'), reject);
  s.ha.handle(press('H0', 'coming'), reject);
  assert.deepEqual(s.responses, [['H1', 'A1', 'need-help']]);
  assert.deepEqual(issues, ['not_found', 'bad_payload', 'not_found'], 'the origin itself has no neighbour alarm to answer');
  s.stopTicks();
});

test('battery levels: a sensor appears with the first level, states follow only when the rounded level changes', async () => {
  const s = setup(1);
  s.users.push({ username: 'u0', role: 'household', team: 'T', household: 'H0' });
  await s.ha.rescan();
  s.published.length = 0;
  s.ha.onBattery('H0', 'H0-smoke', 55.2, 5);
  assert.equal(s.published.length, 0, 'still 55');
  s.ha.onBattery('H0', 'H0-smoke', 54, 6);
  s.ha.onBattery('H0', 'H0-smoke', 90, 2);
  assert.deepEqual(
    s.published.map((p) => JSON.parse(p.payload).battery),
    [54],
    'an older reading is ignored',
  );
  await s.ha.goOffline();
  assert.equal(s.published.at(-1)!.topic, 'smokehub/h/H0/homeassistant/availability');
  assert.equal(s.published.at(-1)!.payload, 'offline');
  s.stopTicks();
});

test('with announcements kept: a household user whose HA never announced itself is not served; its birth serves it', async () => {
  const announced = new Set<string>();
  const s = setup(2, { has: (h) => announced.has(h), add: (h) => void announced.add(h) });
  s.users.push({ username: 'u0', role: 'household', team: 'T', household: 'H0' }, { username: 'u1', role: 'household', team: 'T', household: 'H1' });
  await s.ha.rescan();
  assert.equal(s.ha.count(), 0, 'no HA has announced itself: nothing retained');
  s.ha.handle(press('H1', 'online', 'status'), () => assert.fail('a birth is not refused'));
  assert.deepEqual([...announced], ['H1'], 'remembered');
  await until(() => s.published.some((p) => p.topic.startsWith('smokehub/h/H1/homeassistant/')), 2000, 'H1 published');
  await s.ha.rescan();
  assert.equal(s.ha.count(), 1, 'a rescan keeps the announced household, and only it');
  assert.ok(!s.published.some((p) => p.topic.includes('/H0/')));
  s.stopTicks();
});
