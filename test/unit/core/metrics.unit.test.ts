/**
 * The metrics registry on prom-client (hub/observability/metrics.ts): same name, same metric;
 * labels declared on first use and widened without losing series; process_* and nodejs_* families;
 * the summary's quantiles per window with cumulative _sum and _count; recording never throws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { MetricsRegistry } from '../../../hub/observability/metrics.ts';

const line = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l));

test('the same name gives the same metric; another type under that name is refused', () => {
  const m = new MetricsRegistry({ processMetrics: false });
  const a = m.counter('smokehub_things_total', 'Things');
  const b = m.counter('smokehub_things_total', '');
  assert.equal(a, b);
  a.inc({ reason: 'x' });
  b.inc({ reason: 'x' }, 2);
  assert.equal(m.counter('smokehub_things_total', '').get({ reason: 'x' }), 3);
  assert.equal(m.gauge('smokehub_level', 'Level'), m.gauge('smokehub_level', 'Level'));
  assert.equal(m.histogram('smokehub_h_seconds', 'H', [1]), m.histogram('smokehub_h_seconds', 'H', [2]));
  assert.throws(() => m.gauge('smokehub_things_total', 'Things'), /another type/);
});

test('labels come with the first use; a later label name widens the family and keeps every series', async () => {
  const m = new MetricsRegistry({ processMetrics: false });
  const c = m.counter('smokehub_rejects_total', 'Rejected inputs');
  assert.deepEqual(line(await m.render(), /^smokehub_rejects_total/), ['smokehub_rejects_total 0'], 'an unused counter shows 0');
  c.inc({ reason: 'bad_json', channel: 'mqtt' });
  c.inc({ channel: 'mqtt', reason: 'bad_json' }); // label order does not matter
  c.inc({ reason: 'too_big' });
  c.inc({ reason: 'bad_json', channel: 'mqtt', device: 'd1' }); // a new label name
  assert.deepEqual(line(await m.render(), /^smokehub_rejects_total/).sort(), [
    'smokehub_rejects_total{channel="mqtt",device="d1",reason="bad_json"} 1',
    'smokehub_rejects_total{channel="mqtt",reason="bad_json"} 2',
    'smokehub_rejects_total{reason="too_big"} 1',
  ]);
  assert.equal(c.get({ channel: 'mqtt', reason: 'bad_json' }), 2);
  assert.equal(c.get({ reason: 'too_big' }), 1);
  assert.equal(c.get({ reason: 'never' }), 0);

  const g = m.gauge('smokehub_job_running', '1 while a job runs');
  g.set(1, { job: 'a' });
  g.inc({ job: 'b' }, 2);
  g.dec({ job: 'b' });
  assert.equal(g.get({ job: 'a' }), 1);
  assert.deepEqual(line(await m.render(), /^smokehub_job_running/).sort(), ['smokehub_job_running{job="a"} 1', 'smokehub_job_running{job="b"} 1']);

  const h = m.histogram('smokehub_job_duration_seconds', 'Job durations', [0.1, 1]);
  h.observe(0.05, { job: 'a' });
  h.observe(5, { job: 'a' });
  h.observe(0.5);
  assert.equal(h.count({ job: 'a' }), 2);
  assert.equal(h.count(), 1);
  const text = await m.render();
  assert.match(text, /^smokehub_job_duration_seconds_bucket\{le="0\.1",job="a"\} 1$/m);
  assert.match(text, /^smokehub_job_duration_seconds_bucket\{le="\+Inf",job="a"\} 2$/m);
  assert.match(text, /^smokehub_job_duration_seconds_count\{job="a"\} 2$/m);
  assert.match(text, /^smokehub_job_duration_seconds_sum\{job="a"\} 5\.05$/m);
  assert.match(text, /^smokehub_job_duration_seconds_count 1$/m);
});

test('labels show in sorted order, whatever the order given; a reused labels object does not rename a series', async () => {
  const m = new MetricsRegistry({ processMetrics: false });
  const c = m.counter('smokehub_bus_listener_errors_total', 'Bus listeners that threw');
  const labels = { owner: 'thrower', event: 'alarm-changed' };
  c.inc(labels);
  labels.event = 'device-event';
  c.inc(labels);
  c.inc({ event: 'device-event', owner: 'thrower' });
  const g = m.gauge('smokehub_job_last_run_timestamp_seconds', 'When');
  g.set(5, { z: '1', a: '2' });
  g.set(6, { a: '2', z: '1' });
  const text = await m.render();
  assert.deepEqual(line(text, /^smokehub_bus_listener_errors_total/), [
    'smokehub_bus_listener_errors_total{event="alarm-changed",owner="thrower"} 1',
    'smokehub_bus_listener_errors_total{event="device-event",owner="thrower"} 2',
  ]);
  assert.deepEqual(line(text, /^smokehub_job_last_run/), ['smokehub_job_last_run_timestamp_seconds{a="2",z="1"} 6']);
});

test('collector gauges show what their collector returns now, with its labels', async () => {
  const m = new MetricsRegistry({ processMetrics: false });
  let modems: Array<[Record<string, string>, number]> = [];
  m.gauge('smokehub_modem_up', '1 while a modem can send', () => modems);
  m.gauge('smokehub_connected_devices', 'Devices connected now', () => 7);
  assert.deepEqual(line(await m.render(), /^smokehub_modem_up/), [], 'no modem: no series');
  modems = [
    [{ modem: 'a' }, 1],
    [{ modem: 'b' }, 0],
  ];
  assert.deepEqual(line(await m.render(), /^smokehub_modem_up/), ['smokehub_modem_up{modem="a"} 1', 'smokehub_modem_up{modem="b"} 0']);
  modems = [[{ modem: 'b' }, 1]];
  assert.deepEqual(line(await m.render(), /^smokehub_modem_up/), ['smokehub_modem_up{modem="b"} 1'], 'a gone modem is gone');
  assert.equal(m.gauge('smokehub_modem_up', '').get({ modem: 'b' }), 1);
  assert.deepEqual(line(await m.render(), /^smokehub_connected_devices/), ['smokehub_connected_devices 7']);
});

test('the summary reports the last complete window; _sum and _count count every observation', async () => {
  const m = new MetricsRegistry({ processMetrics: false });
  const s = m.summary('smokehub_wait_seconds', 'Waits', [0.5, 1]);
  const value = async (re: RegExp) => Number(re.exec(await m.render())?.[1]);
  s.observe(1);
  assert.equal(await value(/^smokehub_wait_seconds\{quantile="1"\} (\S+)$/m), 0, 'no window has ended yet');
  assert.equal(await value(/^smokehub_wait_seconds_count (\S+)$/m), 1);
  s.observe(3);
  s.roll();
  s.observe(0.5);
  assert.equal(await value(/^smokehub_wait_seconds\{quantile="1"\} (\S+)$/m), 3);
  assert.equal(await value(/^smokehub_wait_seconds_sum (\S+)$/m), 4.5);
  assert.equal(await value(/^smokehub_wait_seconds_count (\S+)$/m), 3);
  s.roll();
  assert.equal(await value(/^smokehub_wait_seconds\{quantile="1"\} (\S+)$/m), 0.5);
  assert.equal(await value(/^smokehub_wait_seconds_count (\S+)$/m), 3, '_count does not drop when a window ends');
  assert.equal(s.count(), 3);
});

test('recording never throws: bad values and label names are dropped', () => {
  const m = new MetricsRegistry({ processMetrics: false });
  const c = m.counter('smokehub_x_total', 'X');
  c.inc(undefined, -1);
  c.inc(undefined, Number.NaN);
  c.inc({ 'bad-name': 'v' });
  c.inc({ le: 'v' });
  m.histogram('smokehub_y_seconds', 'Y', [1]).observe(Number.POSITIVE_INFINITY);
  m.gauge('smokehub_z', 'Z').set(Number.NaN, { 'also bad': '1' });
  assert.equal(c.get(), 0);
  assert.equal(c.get({ 'bad-name': 'v' }), 0);
});

test('process_* and nodejs_* families, one registry per MetricsRegistry, valid exposition', async (t) => {
  const a = new MetricsRegistry();
  const b = new MetricsRegistry();
  a.counter('smokehub_only_in_a_total', 'A').inc({ reason: 'q"uote\\' });
  a.summary('smokehub_event_loop_delay_seconds', 'Delay', [0.5, 0.99, 1]).observe(0.001);
  const text = await a.render();
  for (const family of [
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'process_start_time_seconds',
    'nodejs_heap_size_used_bytes',
    'nodejs_eventloop_lag_seconds',
    'nodejs_version_info',
  ]) {
    assert.match(text, new RegExp(`^# TYPE ${family} `, 'm'), family);
  }
  assert.match(text, /^# TYPE smokehub_event_loop_delay_seconds summary$/m);
  assert.match(text, /^smokehub_event_loop_delay_seconds_sum 0\.001$/m);
  assert.match(text, /^smokehub_event_loop_delay_seconds_count 1$/m);
  assert.match(text, /^smokehub_only_in_a_total\{reason="q\\"uote\\\\"\} 1$/m);
  const other = await b.render();
  assert.doesNotMatch(other, /smokehub_only_in_a_total/, 'registries are separate');
  assert.match(other, /^# TYPE process_cpu_seconds_total counter$/m);
  assert.equal(a.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  if (spawnSync('promtool', ['--version']).error) {
    t.diagnostic('promtool is not installed: exposition not linted');
    return;
  }
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
});
