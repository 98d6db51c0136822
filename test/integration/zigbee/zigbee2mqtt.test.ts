/**
 * Zigbee2MQTT gateways against a real hub (issue 15): two households of a team each have a Z2M
 * gateway (the stand-in speaks what Z2M publishes, test/fixtures/z2m/). A's Tuya smoke detector
 * alarms → the neighbours are alerted → B's Heiman siren gets the start command → it is re-sent
 * when B's gateway reconnects → the station resolves → the siren gets the stop command. Also:
 * repeated states are not new alarms, battery and availability reach the health API, a malformed
 * state is a fault and never a clear, a gateway cannot publish outside its household, Z2M removing
 * a device removes it from the hub, and gas alarms.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox } from '../../helpers/mqtt-clients.ts';
import { Z2mStandIn } from '../../helpers/z2m-standin.ts';
import { fixtureDevices, fixtureState } from '../../helpers/z2m-fixtures.ts';

const CSV = [
  'team,household,name,address,phone,lat,lon,device,kind,secret',
  't1,t1-h1,Nhà A,1 Lê Lợi,0900000001,20.95,107.08,gw-a,zigbee2mqtt,',
  't1,t1-h2,Nhà B,2 Lê Lợi,0900000002,20.9503,107.0803,gw-b,zigbee2mqtt,',
  't1,t1-h3,Nhà C,3 Lê Lợi,0900000003,20.9506,107.0806,t1-h3-smoke,smoke,',
].join('\n');

const pool = new ClientPool();
const standIns: Z2mStandIn[] = [];
let th: TestHub | null = null;
let th2: TestHub | null = null;
after(async () => {
  for (const s of standIns) await s.stop().catch(() => {});
  await pool.closeAll();
  await th?.stop();
  await th2?.stop();
});

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a Zigbee smoke alarm at A alerts the team and rings B's Zigbee siren until the station resolves it", async () => {
  th = await startTestHub({ csv: CSV, config: { supervisionWindowS: 4, flapCycles: 100 } });
  const hub = th;
  const admin = await hub.login('admin', hub.adminPassword);
  const health = async () => new Map<string, any>((await hub.api(admin, '/api/devices/health')).body.devices.map((d: any) => [d.device, d]));

  const a = new Z2mStandIn({ url: hub.mqttUrl, gateway: 'gw-a', secret: hub.device('gw-a').secret, household: 't1-h1' });
  const b = new Z2mStandIn({ url: hub.mqttUrl, gateway: 'gw-b', secret: hub.device('gw-b').secret, household: 't1-h2' });
  standIns.push(a, b);
  await a.start();
  await b.start();
  const aDevices = fixtureDevices(['TS0205', 'HS1CA-E', 'HS3CG']);
  const bDevices = fixtureDevices(['HS2WD-E']);
  await a.devices(aDevices);
  await b.devices(bDevices);
  const smokeId = `gw-a.${aDevices[1]!.ieee_address}`;
  const smokeName = aDevices[1]!.friendly_name as string;
  const sirenName = bDevices[1]!.friendly_name as string;
  const sirenId = `gw-b.${bDevices[1]!.ieee_address}`;

  // Enrolled as devices of their households, with kinds from their exposes.
  const enrolled = await until('Zigbee devices enrolled', async () => {
    const h = await health();
    return h.has(smokeId) && h.has(sirenId) ? h : undefined;
  });
  assert.equal(enrolled.get(smokeId).kind, 'smoke');
  assert.equal(enrolled.get(smokeId).label, smokeName, 'the friendly name is shown');
  assert.equal(enrolled.get(smokeId).household, 't1-h1');
  assert.equal(enrolled.get(`gw-a.${aDevices[2]!.ieee_address}`).kind, 'co');
  assert.equal(enrolled.get(`gw-a.${aDevices[3]!.ieee_address}`).kind, 'gas');
  assert.equal(enrolled.get(sirenId).kind, 'siren');
  assert.equal(hub.hub.registry.getDevice(smokeId)?.gateway, 'gw-a');

  // Battery and availability reach health.
  for (const d of aDevices.slice(1)) await a.availability(d.friendly_name as string, 'online');
  await b.availability(sirenName, 'online');
  await a.state(smokeName, fixtureState('TS0205', 'normal'));
  await until('battery in health', async () => ((await health()).get(smokeId)?.battery === fixtureState('TS0205', 'normal').battery ? true : undefined));
  assert.equal((await health()).get(smokeId).online, true);

  // A neighbour (a plain detector of t1-h3) listens for alerts.
  const neighbour = await pool.device(hub.mqttUrl, hub.device('t1-h3-smoke'));
  const alerts = new Inbox(neighbour);
  await neighbour.subscribeAsync('smokehub/h/t1-h3/alert', { qos: 1 });

  // Smoke at A → alarm (verify window 0: active at once) → neighbour alerted, B's siren rings.
  await a.state(smokeName, fixtureState('TS0205', 'alarm'));
  const alert = await alerts.next((m) => m.json().state === 'active', 5000, 'the neighbour alert');
  assert.equal(alert.json().origin.household, 't1-h1');
  assert.equal(alert.json().origin.device, smokeId);
  const start = await b.command((c) => c.device === sirenName && (c.payload.warning as any)?.mode === 'emergency', 5000, 'the siren start');
  // Z2M 2.x's HS2WD-E lists only stop/emergency and no level: the hub sends what it lists, with a long duration.
  assert.deepEqual(start.payload, { warning: { mode: 'emergency', strobe: true, duration: 1800 } });

  // Z2M republishes the whole state on every change: a repeated smoke: true is not a new alarm.
  await a.state(smokeName, { ...fixtureState('TS0205', 'alarm'), battery: 80 });
  const alarms = (await hub.api(admin, '/api/alarms')).body.alarms;
  assert.equal(alarms.length, 1, 'one alarm');
  const alarmId = alarms[0].alarm as string;

  // B's gateway drops and comes back while the alarm is open: the start is sent again.
  const startsBefore = b.commands.filter((c) => (c.payload.warning as any)?.mode === 'emergency').length;
  await b.crash();
  await until("B's gateway offline", async () => ((await health()).get('gw-b')?.online === false ? true : undefined));
  const b2 = new Z2mStandIn({ url: hub.mqttUrl, gateway: 'gw-b', secret: hub.device('gw-b').secret, household: 't1-h2' });
  standIns.push(b2);
  await b2.start();
  await b2.command((c) => c.device === sirenName && (c.payload.warning as any)?.mode === 'emergency', 5000, 'the start re-sent after the reconnect');
  assert.ok(startsBefore >= 1);

  // The station resolves: the siren stops.
  const resolved = await hub.api(admin, `/api/alarms/${alarmId}/resolve`, { method: 'POST', body: '{}' });
  assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
  const stop = await b2.command((c) => c.device === sirenName && (c.payload.warning as any)?.mode === 'stop', 5000, 'the siren stop');
  assert.deepEqual(stop.payload, { warning: { mode: 'stop', strobe: false, duration: 0 } });

  // An empty retained payload (Z2M clearing a removed or renamed device's topics) is no state: no fault.
  const coName = aDevices[2]!.friendly_name as string;
  await a.raw(`${a.base}/${coName}`, '');
  await a.raw(`${a.base}/${coName}/availability`, '');
  await a.state(coName, fixtureState('HS1CA-E', 'normal'));
  await until('CO detector heard', async () => ((await health()).get(`gw-a.${aDevices[2]!.ieee_address}`)?.lastSeen ? true : undefined));
  assert.equal((await health()).get(`gw-a.${aDevices[2]!.ieee_address}`).fault, false, 'no fault from an empty payload');

  // A malformed state is a fault, never a clear; the detector stays as it was.
  await a.state(smokeName, '{"smoke":"no","battery":70}');
  await until('fault recorded', async () => ((await health()).get(smokeId)?.fault === true ? true : undefined));

  // Gas alarms like CO.
  const gasName = aDevices[3]!.friendly_name as string;
  await a.state(gasName, fixtureState('HS3CG', 'alarm'));
  await until('gas alarm', async () => {
    const list = (await hub.api(admin, '/api/alarms?state=active')).body.alarms;
    return list.find((x: any) => x.kind === 'gas') ?? undefined;
  });

  // Availability offline → the device goes offline in health.
  await a.availability(smokeName, 'offline');
  await until('offline in health', async () => ((await health()).get(smokeId)?.online === false ? true : undefined));

  // A gateway cannot publish outside its household: refused (counted), never forwarded to B.
  const refused = async () => {
    const text = await (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).text();
    return Number(/smokehub_rejects_total\{channel="acl",reason="forbidden"\} (\d+)/.exec(text)?.[1] ?? 0);
  };
  const refusedBefore = await refused();
  const forbidden = b2.commands.length;
  await a.raw(`smokehub/h/t1-h2/z2m/${sirenName}/set`, '{"warning":{"mode":"stop"}}');
  await a.raw('smokehub/h/t1-h1/d/gw-a/event', '{"id":"x1","type":"smoke"}');
  // Refused in the broker's authorizePublish, before any forwarding: once counted, nothing can follow.
  await until('the refusals counted', async () => ((await refused()) >= refusedBefore + 2 ? true : undefined));
  assert.equal(b2.commands.length, forbidden, 'B got nothing from A');

  // Z2M removes the CO detector: the hub removes it. A gateway flooding its list: at most one applied
  // per second, and the latest wins.
  const coId = `gw-a.${aDevices[2]!.ieee_address}`;
  const lists = async (outcome: string) => {
    const text = await (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).text();
    return Number(new RegExp(`smokehub_zigbee_device_lists_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  };
  const appliedBefore = await lists('applied');
  const floodStart = Date.now();
  for (let i = 0; i < 20; i++) await a.devices(i % 2 === 0 ? aDevices : aDevices.slice(0, 2));
  await a.devices(aDevices.filter((_, i) => i !== 2));
  await until('CO detector removed', async () => (!(await health()).has(coId) ? true : undefined));
  assert.equal(hub.hub.registry.getDevice(coId), undefined);
  assert.ok(hub.hub.registry.getDevice(`gw-a.${aDevices[3]!.ieee_address}`), 'the latest list kept the gas detector');
  const applied = (await lists('applied')) - appliedBefore;
  // One at once, then at most one per second while they kept coming, and the last one.
  const bound = 2 + Math.ceil((Date.now() - floodStart) / 1000);
  assert.ok(applied >= 1 && applied <= bound, `21 lists were applied ${applied} times (at most ${bound})`);
  assert.ok((await lists('deferred')) >= 15, 'most were deferred');
});

test('after a hub restart the Zigbee devices are still enrolled, and a siren rings again when its gateway comes back', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-z2m-restart-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  let first: TestHub | null = await startTestHub({ csv: CSV, dataDir, config: { supervisionWindowS: 4 } });
  const secrets = { a: first.device('gw-a').secret, b: first.device('gw-b').secret };
  // Z2M 1.x this time: its HS2WD-E lists fire and the levels; its availability payloads are plain.
  const aDevices = fixtureDevices(['TS0205'], '1.x');
  const bDevices = fixtureDevices(['HS2WD-E'], '1.x');
  const smokeId = `gw-a.${aDevices[1]!.ieee_address}`;
  const sirenName = bDevices[1]!.friendly_name as string;
  try {
    const a = new Z2mStandIn({ url: first.mqttUrl, gateway: 'gw-a', secret: secrets.a, household: 't1-h1', legacy: true });
    const b = new Z2mStandIn({ url: first.mqttUrl, gateway: 'gw-b', secret: secrets.b, household: 't1-h2', legacy: true });
    standIns.push(a, b);
    await a.start();
    await b.start();
    await a.devices(aDevices);
    await b.devices(bDevices);
    const hub1 = first;
    await until('enrolled', () =>
      hub1.hub.registry.getDevice(smokeId) && hub1.hub.registry.listDevices({ household: 't1-h2' }).some((d) => d.kind === 'siren') ? true : undefined,
    );
    await a.availability(aDevices[1]!.friendly_name as string, 'online');
    await a.state(aDevices[1]!.friendly_name as string, fixtureState('TS0205', 'alarm'));
    const before = await b.command((c) => c.device === sirenName && (c.payload.warning as any)?.mode === 'fire', 5000, 'the siren start before the restart');
    assert.deepEqual(before.payload, { warning: { mode: 'fire', level: 'very_high', strobe: true, duration: 1800 } });
    await a.stop();
    await b.stop();
    await first.stop();
    first = null;

    // The hub comes back (same data dir): the alarm is restored from the journal, the devices from the registry.
    const second = await startTestHub({ csv: CSV, dataDir, config: { supervisionWindowS: 4 } });
    th2 = second;
    assert.equal(second.hub.registry.getDevice(smokeId)?.kind, 'smoke', 'still enrolled before any gateway reconnects');
    assert.equal(second.hub.registry.getDevice(smokeId)?.gateway, 'gw-a');
    const b2 = new Z2mStandIn({ url: second.mqttUrl, gateway: 'gw-b', secret: secrets.b, household: 't1-h2', legacy: true });
    standIns.push(b2);
    await b2.start();
    await b2.command((c) => c.device === sirenName && (c.payload.warning as any)?.mode === 'fire', 5000, 'the siren start after the restart');

    // Z2M does not publish availability again when it reconnects: the hub remembers it.
    const a2 = new Z2mStandIn({ url: second.mqttUrl, gateway: 'gw-a', secret: secrets.a, household: 't1-h1', legacy: true });
    standIns.push(a2);
    await a2.start();
    const admin = await second.login('admin', second.adminPassword);
    await until("A's detector online after the restart", async () => {
      const d = (await second.api(admin, '/api/devices/health?household=t1-h1')).body.devices.find((x: any) => x.device === smokeId);
      return d?.online === true ? true : undefined;
    });
  } finally {
    await first?.stop();
  }
});
