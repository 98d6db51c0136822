/** `smokehub-bridge demo`: a hub with the Hạ Long neighbourhood, the simulator and a first alarm. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runDemo, DEMO_CSV, FIRST_FIRE } from '../../../firmware-bridge/demo.ts';
import { planImport } from '../../../hub/store/csv-import.ts';
import { cleanupStack, tempDir, waitFor } from '../../helpers/bridge-test-kit.ts';

test('the demo CSV is a valid import of Hạ Long households with Vietnamese names and coordinates', () => {
  const text = readFileSync(DEMO_CSV(), 'utf8');
  const planned = planImport(text);
  assert.ok(planned.ok, JSON.stringify(!planned.ok && planned.problems));
  assert.ok(planned.plan.households.length >= 30);
  assert.deepEqual([...planned.plan.teams].sort(), ['bd-to03', 'bd-to07', 'hg-to05', 'hg-to12']);
  for (const h of planned.plan.households) {
    assert.match(h.address, /phường (Hồng Gai|Bạch Đằng), TP Hạ Long/);
    assert.ok(h.lat! > 20.9 && h.lat! < 21.0 && h.lon! > 107.0 && h.lon! < 107.15, `${h.id} ${h.lat},${h.lon}`);
  }
  assert.ok(planned.plan.households.some((h) => h.id === FIRST_FIRE));
});

test('demo prints the dashboard URL and login, and raises a first alarm', async (t) => {
  const cleanup = cleanupStack(t);
  const lines: string[] = [];
  const demo = await runDemo({
    flags: {
      data: tempDir(t),
      'http-port': '0',
      'mqtt-port': '0',
      'mqtts-port': '0',
      'https-port': '0',
      host: '127.0.0.1',
      'first-alarm-after': '1',
      'verify-window': '1',
      'alarm-every': '0',
      'log-level': 'silent',
    },
    out: (l) => lines.push(l),
  });
  cleanup(() => demo.stop());
  const url = lines.find((l) => l.includes('dashboard:'))?.match(/http:\/\/\S+/)?.[0];
  const password = lines.find((l) => l.includes('login:'))?.match(/admin \/ (\S+)/)?.[1];
  assert.ok(url && password, lines.join('\n'));
  const login = await fetch(new URL('/api/login', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  assert.equal(login.status, 200);
  const { token } = (await login.json()) as { token: string };
  const alarm = await waitFor(
    async () => {
      const r = await fetch(new URL('/api/alarms?state=open', url), { headers: { authorization: `Bearer ${token}` } });
      const body = (await r.json()) as
        | { alarms?: Array<{ origin: { household: string }; state: string }> }
        | Array<{ origin: { household: string }; state: string }>;
      const list = Array.isArray(body) ? body : (body.alarms ?? []);
      return list.find((a) => a.origin.household === FIRST_FIRE && a.state !== 'pre-alarm');
    },
    10_000,
    'the first alarm, active',
  );
  assert.ok(['active', 'escalated'].includes(alarm.state));
});
