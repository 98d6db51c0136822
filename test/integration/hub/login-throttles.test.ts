/**
 * Login throttles against a real hub (real sockets, 127.0.0.x as different client addresses):
 * parallel attempts are counted while in flight, per address and per user name; a valid login
 * (a person's or a device's) does not reset its address; a wrong device secret never delays a
 * valid device from the same address; MQTT refusals take the same time whatever the name is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { rawConnect } from '../../helpers/raw-mqtt-connect.ts';
import { loginFrom } from '../../helpers/http-login.ts';

async function hub(t: { after: (fn: () => Promise<void>) => void }): Promise<TestHub> {
  const th = await startTestHub();
  t.after(() => th.stop());
  await th.hub.registry.addUser({ username: 'home11', role: 'household', household: 't1-h1', password: 'household-password' });
  return th;
}

/** POST /api/login from a chosen local address. */
function login(th: TestHub, username: string, password: string, localAddress = '127.0.0.1') {
  return loginFrom(th.hub.httpPort, username, password, localAddress);
}

function count<T>(xs: T[], x: T): number {
  return xs.filter((y) => y === x).length;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

test('HTTP: 60 parallel wrong logins get 5 checked (counted while in flight); the rest 429 + Retry-After, unchecked', { timeout: 60_000 }, async (t) => {
  const th = await hub(t);
  const answers = await Promise.all(Array.from({ length: 60 }, () => login(th, 'admin', 'not the password', '127.0.0.2')));
  const statuses = answers.map((a) => a.status);
  assert.equal(count(statuses, 401), 5, `checked: ${count(statuses, 401)} (before: all 60)`);
  assert.equal(count(statuses, 429), 55);
  assert.ok(answers.filter((a) => a.status === 429).every((a) => Number(a.retryAfter) >= 1));
  // Another address guessing the same name is held by the user name's record too.
  assert.equal((await login(th, 'admin', 'still not it', '127.0.0.3')).status, 429);
});

test("HTTP: spraying names with the attacker's own valid login every 5th request checks at most the address's free attempts", {
  timeout: 60_000,
}, async (t) => {
  const th = await hub(t);
  const statuses: number[] = [];
  const own: number[] = [];
  for (let round = 0; round < 6; round++) {
    const batch = await Promise.all([
      ...Array.from({ length: 4 }, (_, i) => login(th, `guess-${round}-${i}`, 'password1', '127.0.0.4')),
      login(th, 'home11', 'household-password', '127.0.0.4'),
    ]);
    statuses.push(...batch.slice(0, 4).map((b) => b.status));
    own.push(batch[4]!.status);
  }
  assert.equal(own[0], 200, 'the own login works before the address is blocked');
  const checked = count(statuses, 401);
  assert.ok(checked >= 10 && checked <= 12, `guesses checked: ${checked} of 24 (before: 24 — each valid login reset the address)`);
  assert.ok(count(statuses, 429) >= 12);
});

test('MQTT: 100 parallel connects with wrong passwords get 5 checked; the rest are refused unchecked (CONNACK 3)', { timeout: 60_000 }, async (t) => {
  const th = await hub(t);
  const codes = (
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        rawConnect(th.hub.mqttPort, { clientId: `atk-${i}`, username: 'admin', password: `guess-${i}`, localAddress: '127.0.0.5' }),
      ),
    )
  ).map((r) => r.returnCode);
  assert.equal(count(codes, 4), 5, `checked: ${count(codes, 4)} (before: all 100)`);
  assert.equal(count(codes, 3), 95);
  const metrics = await (await fetch(`${th.httpUrl}/metrics`)).text();
  assert.match(metrics, /smokehub_auth_failures_total\{reason="throttled"\} 95/);
  assert.match(metrics, /smokehub_login_refusals_total\{protocol="mqtt",reason="bad_credentials"\} 5/);
});

test("MQTT: a valid device login every 4th attempt does not reset the address's throttle", { timeout: 60_000 }, async (t) => {
  const th = await hub(t);
  const dev = th.device('t1-h1-smoke');
  const codes: Array<number | null> = [];
  const devices: Array<number | null> = [];
  for (let round = 0; round < 6; round++) {
    const r = await Promise.all([
      ...Array.from({ length: 3 }, (_, i) =>
        rawConnect(th.hub.mqttPort, { clientId: `atk-${round}-${i}`, username: `name-${round}-${i}`, password: 'password1', localAddress: '127.0.0.6' }),
      ),
      rawConnect(th.hub.mqttPort, { clientId: dev.device, username: dev.device, password: dev.secret, localAddress: '127.0.0.6' }),
    ]);
    codes.push(...r.slice(0, 3).map((x) => x.returnCode));
    devices.push(r[3]!.returnCode);
  }
  assert.deepEqual(devices, [0, 0, 0, 0, 0, 0], 'the valid device always connects');
  const checked = count(codes, 4);
  assert.ok(checked >= 10 && checked <= 12, `guesses checked: ${checked} of 18 (before: 18)`);
});

test('MQTT: wrong device secrets from an address never delay a valid device from the same address', { timeout: 60_000 }, async (t) => {
  const th = await hub(t);
  const real = th.device('t1-h1-smoke');
  const other = th.device('t1-h2-smoke');
  // 30 wrong secrets for the real device's id, and a person's name guessed, all from its NAT address.
  const attack = Promise.all([
    ...Array.from({ length: 30 }, (_, i) =>
      rawConnect(th.hub.mqttPort, { clientId: real.device, username: real.device, password: `wrong-${i}`, localAddress: '127.0.0.7' }),
    ),
    ...Array.from({ length: 10 }, (_, i) =>
      rawConnect(th.hub.mqttPort, { clientId: `p-${i}`, username: 'admin', password: `wrong-${i}`, localAddress: '127.0.0.7' }),
    ),
  ]);
  const refused = await attack;
  assert.ok(
    refused.every((r) => r.returnCode === 3 || r.returnCode === 4),
    'every wrong attempt refused',
  );
  // The address is throttled now; the real devices still connect at once (before: 10.6 s after 10 failures).
  for (const d of [real, other]) {
    const r = await rawConnect(th.hub.mqttPort, { clientId: d.device, username: d.device, password: d.secret, localAddress: '127.0.0.7' });
    assert.equal(r.returnCode, 0, `${d.device} connects`);
    assert.ok(r.ms < 900, `${d.device} answered in ${r.ms.toFixed(0)} ms (refusals wait 1,000 ms)`);
  }
});

test('MQTT refusals take the same time for a device id, a person and an unknown name (device ids cannot be enumerated)', { timeout: 60_000 }, async (t) => {
  const th = await hub(t);
  const times: Record<'device' | 'person' | 'unknown', number[]> = { device: [], person: [], unknown: [] };
  const names = { device: 't2-h1-smoke', person: 'admin', unknown: 'no-such-name' };
  for (let round = 0; round < 3; round++) {
    for (const kind of ['device', 'person', 'unknown'] as const) {
      const r = await rawConnect(th.hub.mqttPort, {
        clientId: `probe-${kind}-${round}`,
        username: names[kind],
        password: `wrong-${round}`,
        localAddress: `127.0.1.${round + 1}`,
      });
      assert.equal(r.returnCode, 4, `${kind}: the same refusal code`);
      times[kind].push(r.ms);
    }
  }
  const medians = Object.values(times).map(median);
  for (const ms of Object.values(times).flat()) assert.ok(ms >= 990, `a refusal answered after ${ms.toFixed(0)} ms: none before the 1 s floor`);
  const spread = Math.max(...medians) - Math.min(...medians);
  assert.ok(spread < 250, `median refusal times ${medians.map((m) => m.toFixed(0)).join(' / ')} ms (device / person / unknown; before: 2 vs 130)`);
});
