/**
 * End to end through a real hub and a GSM modem simulator on a real socat PTY pair:
 * smoke → SMS to each neighbour with the address in Vietnamese → a reply `1` shows as `coming` →
 * escalation calls the station numbers in order and texts them the dispatch card → dispatch →
 * stand-down texts; GET /api/alarms/:id says who was texted and called. Then kill -9 with texts
 * queued: after the restart none is lost and none confirmed sent goes out twice.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox } from '../../helpers/mqtt-clients.ts';
import { hasSocat, killAllSocat, startPtyModem, type PtyModem } from '../../helpers/modem-pty.ts';
import { waitFor } from '../../helpers/sms-test-kit.ts';

const skip = hasSocat() ? false : 'socat is not installed (apt-get install -y socat)';
const dir = mkdtempSync(join(tmpdir(), 'smokehub-sms-e2e-'));
const pool = new ClientPool();
let th: TestHub | null = null;
let pty: PtyModem | null = null;
after(async () => {
  await pool.closeAll();
  await th?.stop();
  await pty?.stop();
  killAllSocat();
  rmSync(dir, { recursive: true, force: true });
});

// Team t1: three households; t1-h2 has two numbers. t2-near lives 10 m from t1-h1 (another team).
const csv =
  [
    'team,household,name,address,phone,lat,lon,device,kind,secret,access,hazards,vulnerable,water',
    't1,t1-h1,Nhà bà Lan,"12 ngõ 5 Lê Lợi, Hồng Gai",0901000001,20.950000,107.080000,t1-h1-smoke,smoke,,ngõ 2 m: xe đỗ đầu ngõ,2 bình gas,bà cụ 80 tuổi tầng 2,trụ nước đầu ngõ',
    't1,t1-h2,Nhà ông Hùng,"14 ngõ 5 Lê Lợi",0901000002;0901000022,20.950300,107.080000,t1-h2-smoke,smoke,,,,,',
    't1,t1-h3,Nhà chị Mai,"16 ngõ 5 Lê Lợi",0901000003,20.950600,107.080000,t1-h3-smoke,smoke,,,,,',
    't2,t2-near,Nhà anh Tú,"1A Lê Lợi",0901000009,20.950090,107.080000,t2-near-smoke,smoke,,,,,',
  ].join('\n') + '\n';

test('the SMS ladder end to end, through a modem on a serial port', { skip, timeout: 90_000 }, async () => {
  pty = await startPtyModem(dir, { smsLatencyMs: 30, dialMs: 50 });
  const sim = pty.sim;
  sim.scriptCall('+842033825114', { noAnswer: true });
  sim.scriptCall('+842033825115', { answerAfterMs: 100 });
  th = await startTestHub({
    csv,
    config: { verifyWindowS: 0, escalateAfterS: 4, callAfterS: 2, callRingS: 5, modem: pty.hubPath, stationPhones: '+842033825114,+842033825115' },
  });
  const texts = (to: string) => sim.sent.filter((s) => s.to.endsWith(to.slice(-9)));

  const origin = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'));
  const h3 = await pool.device(th.mqttUrl, th.device('t1-h3-smoke'));
  const h3In = new Inbox(h3);
  await h3.subscribeAsync('smokehub/h/t1-h3/alert', { qos: 1 });
  await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'sms-1', type: 'smoke' }), { qos: 1 });
  const alarm = (await h3In.next((m) => m.json().state === 'active', 3000, 'active')).json().alarm as string;

  // 1. the origin is told (reply 0), each neighbour number and the nearby home get the address in Vietnamese
  await waitFor(() => ['901000001', '901000002', '901000022', '901000003', '901000009'].every((n) => texts(n).length > 0), 15_000, 'the first texts');
  assert.match(texts('901000001')[0]!.text, /0/);
  for (const n of ['901000002', '901000022', '901000003']) {
    const t = texts(n)[0]!;
    assert.match(t.text, /12 ngõ 5 Lê Lợi/, 'the address, with its diacritics');
    assert.match(t.text, /Nhà bà Lan/);
    assert.equal(t.alphabet, 'ucs2');
  }
  assert.notEqual(texts('901000009')[0]!.text, texts('901000003')[0]!.text, 'the nearby home gets the nearby text');

  // 2. a reply `1` from t1-h3's phone is its response
  sim.injectSms('+84901000003', '1');
  await h3In.next((m) => m.json().responders.some((r: any) => r.household === 't1-h3' && r.response === 'coming'), 10_000, 'the SMS reply shows as coming');
  const view = th.hub.alarms.viewOf(alarm)!;
  assert.deepEqual(view.responders.find((r) => r.household === 't1-h3')!.by, { kind: 'sms', phone: '+84901000003' });

  // 3. t1-h2 did not answer within --call-after: a call to each of its numbers; t1-h3 (answered) is not called
  await waitFor(() => sim.calls.some((c) => c.number.endsWith('901000002')), 15_000, 'the call to a neighbour who did not answer');
  assert.ok(!sim.calls.some((c) => c.number.endsWith('901000003')), 'a neighbour who answered is not called');

  // 4. escalation: the station numbers are called in order until one answers, and texted the dispatch card
  await h3In.next((m) => m.json().state === 'escalated', 10_000, 'escalated');
  await waitFor(() => sim.calls.some((c) => c.number.endsWith('825115') && c.answeredAt !== undefined), 20_000, 'the second station number answers');
  const stationCalls = sim.calls.filter((c) => c.number.endsWith('825114') || c.number.endsWith('825115')).map((c) => c.number.slice(-6));
  assert.deepEqual(stationCalls, ['825114', '825115'], 'in order, and no further once one answered');
  await waitFor(() => texts('825114').length > 0 && texts('825115').length > 0, 10_000, 'the dispatch card');
  const card = texts('825114')[0]!;
  assert.ok(card.parts <= 2, `the card fits in two parts (${card.parts})`);
  assert.equal(card.alphabet, 'gsm7', 'the card goes without diacritics: whole in two parts');
  for (const field of [/ba cu 80 tuoi tang 2/, /2 binh gas/, /ngo 2 m: xe do dau ngo/, /tru nuoc dau ngo/]) assert.match(card.text, field);

  // 5. the station dispatches a truck, then resolves: everyone texted hears both
  const admin = await th.login('admin', th.adminPassword);
  assert.equal((await th.api(admin, `/api/alarms/${alarm}/dispatch`, { method: 'POST', body: JSON.stringify({ etaMin: 6 }) })).status, 200);
  await waitFor(() => texts('901000003').length >= 2, 15_000, 'the dispatch text');
  assert.match(texts('901000003')[1]!.text, /Xe chữa cháy|xe chữa cháy/i);
  assert.equal((await th.api(admin, `/api/alarms/${alarm}/resolve`, { method: 'POST' })).status, 200);
  await waitFor(() => ['901000002', '901000022', '901000003', '901000009', '901000001'].every((n) => texts(n).length >= 3), 20_000, 'the stand-down texts');

  // 6. the alarm says who was texted and called, and its timeline has each message
  const read = await th.api(admin, `/api/alarms/${alarm}`);
  const contacts = read.body.contacts as Array<{ kind: string; to: string; state: string; outcome?: string }>;
  assert.ok(contacts.filter((c) => c.kind === 'sms' && c.state === 'sent').length >= 10);
  assert.ok(contacts.some((c) => c.kind === 'call' && c.to === '+842033825115' && c.outcome === 'answered'));
  assert.ok(read.body.timeline.some((t: any) => t.transition === 'sms-sent' && t.via === 'sms'));
  assert.ok(read.body.timeline.some((t: any) => t.transition === 'called' && t.detail.outcome === 'answered'));
  assert.equal(read.body.card.vulnerable, 'bà cụ 80 tuổi tầng 2');
  const metrics = await (await fetch(`${th.httpUrl}/metrics`)).text();
  assert.match(metrics, /smokehub_modem_up\{modem="[^"]+"\} 1/);

  // 7. an unknown number gets one help text, not two
  sim.injectSms('+84909999999', '1');
  sim.injectSms('+84909999999', '1');
  await waitFor(() => texts('909999999').length === 1, 10_000, 'one help text');
});
