/**
 * The weekly self-test round trip through a real hub: `{"cmd":"test"}` reaches every detector,
 * simulated detectors answer (or not) within a 1 s answer timeout, results are stored per device and
 * shown in the API, failures notify only the household concerned, and no alarm is ever opened.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHub, neighbourhoodCsv, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox, sleep } from '../../helpers/mqtt-clients.ts';
import { supervisionExtension } from '../../../hub/supervision/supervision-extension.ts';

let th: TestHub;
const pool = new ClientPool();
const ext = supervisionExtension({ sweepIntervalMs: 200 });

before(async () => {
  th = await startTestHub({ csv: neighbourhoodCsv(1, 3), config: { selfTestTimeoutS: 1, supervisionWindowS: 600 }, extensions: [ext] });
});
after(async () => {
  await pool.closeAll();
  await th?.stop();
});

test('some detectors answer, some do not: results per device, failures to their households only, no alarm', async () => {
  const station = await pool.connect(th.mqttUrl, { username: 'admin', password: th.adminPassword, clientId: 'station-st' });
  const stationIn = new Inbox(station);
  await station.subscribeAsync('smokehub/#', { qos: 1 });

  // h1's detector answers its test command; h2's is connected but never answers; h3's is not connected
  const good = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'));
  const goodIn = new Inbox(good);
  await good.subscribeAsync(['smokehub/h/t1-h1/d/t1-h1-smoke/cmd', 'smokehub/h/t1-h1/notice', 'smokehub/h/t1-h1/alert'], { qos: 1 });
  good.on('message', (topic, payload) => {
    if (!topic.endsWith('/cmd')) return;
    const cmd = JSON.parse(payload.toString());
    if (cmd.cmd === 'test')
      void good.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: `selftest-${cmd.round}`, type: 'test' }), { qos: 1 });
  });
  const mute = await pool.device(th.mqttUrl, th.device('t1-h2-smoke'));
  const muteIn = new Inbox(mute);
  await mute.subscribeAsync(['smokehub/h/t1-h2/d/t1-h2-smoke/cmd', 'smokehub/h/t1-h2/notice'], { qos: 1 });

  const t0 = Date.now();
  const run = await ext.handle!.jobs.runNow('self-test');
  assert.equal(run.outcome, 'ok', run.error ?? '');
  assert.ok(Date.now() - t0 >= 900, 'waited for the answer timeout');
  assert.deepEqual({ ...(run.summary as object), round: undefined }, { round: undefined, expected: 3, passed: 1, failed: 2, offline: 0 });
  const cmd = (await muteIn.next((m) => m.topic.endsWith('/cmd'), 1000, 'test command')).json();
  assert.equal(cmd.cmd, 'test');
  assert.equal(
    stationIn.count((m) => m.topic.endsWith('/d/t1-h1-panic/cmd')),
    0,
    'panic buttons are not detectors',
  );

  // failures go to their own household (and its team leader), not to the others nor the station topic
  const failed = (await muteIn.next((m) => m.topic === 'smokehub/h/t1-h2/notice', 2000, 'failure notice')).json();
  assert.equal(failed.notice, 'self-test-failed');
  assert.equal(failed.severity, 'trouble');
  assert.equal(failed.device, 't1-h2-smoke');
  await stationIn.next((m) => m.topic === 'smokehub/h/t1-h3/notice' && m.json().notice === 'self-test-failed', 2000, 'h3 failure');
  await sleep(300);
  assert.equal(
    goodIn.count((m) => m.topic.endsWith('/notice')),
    0,
    'the passing household gets no notice',
  );
  assert.equal(
    stationIn.count((m) => m.topic === 'smokehub/station/notice' && m.json().notice === 'self-test-failed'),
    0,
  );
  // a self-test never opens an alarm nor alerts anyone
  assert.equal(
    stationIn.count((m) => m.topic.endsWith('/alert') || m.topic === 'smokehub/station/alarm'),
    0,
  );
  assert.equal(
    goodIn.count((m) => m.topic.endsWith('/alert')),
    0,
  );

  const admin = await th.login('admin', th.adminPassword);
  const open = await th.api(admin, '/api/alarms?state=open');
  assert.deepEqual(open.body.alarms, []);
  const h1 = await th.api(admin, '/api/households/t1-h1/self-test');
  assert.equal(h1.status, 200);
  assert.deepEqual(
    h1.body.devices.map((d: any) => [d.device, d.lastTest.outcome, d.lastTest.round === (run.summary as any).round]),
    [['t1-h1-smoke', 'passed', true]],
  );
  assert.ok(h1.body.devices[0].lastTest.answeredAt >= t0);
  const h2 = await th.api(admin, '/api/households/t1-h2/self-test');
  assert.deepEqual([h2.body.devices[0].lastTest.outcome, h2.body.devices[0].lastTest.reason], ['failed', 'no-answer']);

  // someone presses the test button later: recorded as a manual test that passed
  await mute.publishAsync('smokehub/h/t1-h2/d/t1-h2-smoke/event', JSON.stringify({ id: 'button-1', type: 'test' }), { qos: 1 });
  await sleep(500);
  const after = await th.api(admin, '/api/households/t1-h2/self-test');
  assert.deepEqual([after.body.devices[0].lastTest.outcome, after.body.devices[0].lastTest.round], ['passed', null]);

  const jobs = await th.api(admin, '/api/jobs');
  assert.equal(jobs.status, 200);
  const st = jobs.body.jobs.find((j: any) => j.name === 'self-test');
  assert.equal(st.cron, '0 9 * * 0');
  assert.equal(st.timezone, 'Asia/Ho_Chi_Minh');
  assert.equal(st.lastRun.outcome, 'ok');
  assert.ok(st.lastRun.durationMs >= 900);
  const metrics = await (await fetch(`${th.httpUrl}/metrics`)).text();
  assert.match(metrics, /smokehub_job_runs_total\{job="self-test",outcome="ok"\} 1/);
  assert.match(metrics, /smokehub_self_test_results_total\{outcome="failed"\} 2/);
});
