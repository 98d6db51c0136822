/**
 * Three hub nodes (`smokehub start --postgres … --redis …`, each its own process) sharing one real
 * PostgreSQL and one real redis-server: an alarm raised on node 1 reaches a neighbour on node 2 and
 * the station on node 3, who acts on it over node 3's HTTP API; two households alarming at once on
 * two nodes; kill -9 of the origin's node during the pre-alarm; a queued QoS 1 alert delivered to a
 * persistent session that comes back on another node. (PostgreSQL and Redis restarts: cluster-faults.test.ts.)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, login, type HubNode } from '../../helpers/cluster-hubs.ts';
import { Inbox } from '../../helpers/mqtt-clients.ts';
import { STATION, clusterSkip, clusterSuite, journalRows, until } from '../../helpers/cluster-suite.ts';

describe('a cluster of hub nodes on PostgreSQL and Redis', { skip: clusterSkip, timeout: 170_000 }, () => {
  const suite = clusterSuite();
  const { pool } = suite;
  const cluster = (nodes: string[], redisDb: number) => suite.cluster(nodes, redisDb);
  const journalCounts = journalRows;

  test('an alarm raised on node 1 reaches a neighbour on node 2 and the station on node 3, who resolves it there', async () => {
    const { nodes, cred } = await cluster(['n1', 'n2', 'n3'], 1);
    const [n1, n2, n3] = nodes as [HubNode, HubNode, HubNode];
    const neighbour = await pool.device(n2.mqttUrl, cred('t1-h2-smoke'));
    const nIn = new Inbox(neighbour);
    await neighbour.subscribeAsync('smokehub/h/t1-h2/alert', { qos: 1 });
    const station = await pool.connect(n3.mqttUrl, { clientId: 'st-1', username: STATION.username, password: STATION.password });
    const sIn = new Inbox(station);
    await station.subscribeAsync('smokehub/station/alarm', { qos: 1 });
    const origin = await pool.device(n1.mqttUrl, cred('t1-h1-smoke'));
    const sent = Date.now();
    await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'fire-1', type: 'smoke' }), { qos: 1 });
    const pre = (await sIn.next((m) => m.json().state === 'pre-alarm', 5000, 'the station (node 3) hears the pre-alarm')).json();
    const active = (await nIn.next((m) => m.json().state === 'active', 8000, 'the neighbour (node 2) is alerted')).json();
    assert.equal(active.alarm, pre.alarm);
    assert.equal(active.origin.household, 't1-h1');
    assert.ok(Date.now() - sent < 8000);

    // The station acts on node 3's HTTP API; the neighbour on node 2 hears the outcome.
    const token = await login(n3, STATION.username, STATION.password);
    const list = await api(n3, token, 'GET', '/api/alarms?state=open');
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.alarms.map((a: { alarm: string }) => a.alarm),
      [pre.alarm],
    );
    const resolved = await api(n3, token, 'POST', `/api/alarms/${pre.alarm}/resolve`);
    assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
    assert.equal(resolved.body.state, 'resolved');
    await nIn.next((m) => m.json().alarm === pre.alarm && m.json().state === 'resolved', 5000, 'the neighbour hears the resolution');
    // Node 1's API answers from the same journal; its timeline holds each step once.
    const t1 = await login(n1, STATION.username, STATION.password);
    const detail = await api(n1, t1, 'GET', `/api/alarms/${pre.alarm}`);
    assert.equal(detail.status, 200);
    const transitions = detail.body.timeline.map((e: { transition: string }) => e.transition);
    assert.equal(transitions.filter((t: string) => t === 'raised').length, 1, transitions.join(','));
    assert.equal(transitions.filter((t: string) => t === 'activated').length, 1, transitions.join(','));
    // The daily report of any node counts the cluster's alarms (PostgreSQL's journal, not the node's SQLite).
    const report = await api(n2, await login(n2, STATION.username, STATION.password), 'GET', '/api/reports/daily');
    assert.equal(report.status, 200);
    assert.equal(report.body.totals.alarms, 1, JSON.stringify(report.body.totals));
    // The node's health says ok, and the device on node 1 is online on node 3's dashboard.
    const health = await fetch(`${n2.httpUrl}/health`);
    assert.equal(health.status, 200);
    await until(
      async () => {
        const h = await api(n3, token, 'GET', '/api/households/t1-h1');
        return h.body?.devices?.find((d: { id: string; online: boolean }) => d.id === 't1-h1-smoke')?.online === true;
      },
      8000,
      'node 3 sees the detector connected to node 1 online',
    );
    await pool.closeAll();
  });

  test('two households of one team alarming at once on two nodes: each alarm once, both escalated for multiple-households', async () => {
    const { nodes, cred, url } = await cluster(['m1', 'm2'], 2);
    const [m1, m2] = nodes as [HubNode, HubNode];
    const station = await pool.connect(m2.mqttUrl, { clientId: 'st-2', username: STATION.username, password: STATION.password });
    const sIn = new Inbox(station);
    await station.subscribeAsync('smokehub/station/alarm', { qos: 1 });
    const a = await pool.device(m1.mqttUrl, cred('t1-h1-smoke'));
    const b = await pool.device(m2.mqttUrl, cred('t1-h3-smoke'));
    await Promise.all([
      a.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'twin-a', type: 'smoke' }), { qos: 1 }),
      b.publishAsync('smokehub/h/t1-h3/d/t1-h3-smoke/event', JSON.stringify({ id: 'twin-b', type: 'smoke' }), { qos: 1 }),
    ]);
    const escalated = async (household: string) =>
      (await sIn.next((m) => m.json().origin.household === household && m.json().state === 'escalated', 10_000, `${household} escalated`)).json();
    const [ea, eb] = await Promise.all([escalated('t1-h1'), escalated('t1-h3')]);
    assert.equal(ea.escalation, 'multiple-households');
    assert.equal(eb.escalation, 'multiple-households');
    // The detector comes back on the other node and sends its event again: not a second alarm.
    await a.endAsync();
    const again = await pool.device(m2.mqttUrl, cred('t1-h1-smoke'));
    await again.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'twin-a', type: 'smoke' }), { qos: 1 });
    // Another device of a household already alarming joins its alarm.
    const panic = await pool.device(m1.mqttUrl, cred('t1-h1-panic'));
    await panic.publishAsync('smokehub/h/t1-h1/d/t1-h1-panic/event', JSON.stringify({ id: 'twin-c', type: 'panic' }), { qos: 1 });
    const { alarms, timeline } = await journalCounts(url);
    assert.equal(alarms.length, 2, `one alarm per household: ${JSON.stringify(alarms)}`);
    assert.deepEqual(new Set(alarms.map((r: { id: string }) => r.id)), new Set([ea.alarm, eb.alarm]));
    assert.equal(timeline.filter((e: { transition: string }) => e.transition === 'raised').length, 2);
    await pool.closeAll();
  });

  test('kill -9 of the origin’s node during the pre-alarm: the deadline fires on another node, devices move, nothing lost or doubled', async () => {
    const { nodes, cred, url } = await cluster(['k1', 'k2'], 3);
    const [k1, k2] = nodes as [HubNode, HubNode];
    const servers = [
      { host: '127.0.0.1', port: k1.mqttPort },
      { host: '127.0.0.1', port: k2.mqttPort },
    ];
    const neighbour = await pool.device(k2.mqttUrl, cred('t1-h2-smoke'), { clean: false });
    const nIn = new Inbox(neighbour);
    await neighbour.subscribeAsync('smokehub/h/t1-h2/alert', { qos: 1 });
    const station = await pool.connect(k2.mqttUrl, { clientId: 'st-k', username: STATION.username, password: STATION.password });
    const sIn = new Inbox(station);
    await station.subscribeAsync('smokehub/station/alarm', { qos: 1 });
    const origin = await pool.device(k1.mqttUrl, cred('t1-h1-smoke'), { servers, reconnectPeriod: 300, reconnectOnConnackError: true, clean: false });
    await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'kill-1', type: 'smoke' }), { qos: 1 });
    const pre = (await sIn.next((m) => m.json().state === 'pre-alarm', 5000, 'pre-alarm')).json();
    await k1.kill();
    const killed = Date.now();
    const active = (await nIn.next((m) => m.json().alarm === pre.alarm && m.json().state === 'active', 10_000, 'activated by node 2')).json();
    const due = pre.raisedAt + 3000;
    assert.ok(active.updatedAt >= due, 'not before the verify window');
    assert.ok(active.updatedAt < Math.max(due, killed) + 2000, `fired ${active.updatedAt - due} ms after due (kill at +${killed - pre.raisedAt} ms)`);
    await until(async () => origin.connected, 10_000, 'the origin detector reconnected to node 2');
    // The detector sends its event again (it was not sure): the same alarm, not a second one.
    await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'kill-1', type: 'smoke' }), { qos: 1 });
    const { alarms, timeline } = await journalCounts(url);
    assert.equal(alarms.length, 1);
    const of = timeline.filter((e: { alarm_id: string }) => e.alarm_id === pre.alarm).map((e: { transition: string }) => e.transition);
    assert.equal(of.filter((t: string) => t === 'activated').length, 1, of.join(','));
    assert.equal(
      nIn.count((m) => m.json().alarm === pre.alarm && m.json().state === 'active'),
      1,
      'the neighbour is alerted once',
    );
    await pool.closeAll();
  });

  test('a QoS 1 alert queued for an offline persistent neighbour is delivered when it reconnects to another node', async () => {
    const { nodes, cred } = await cluster(['q1', 'q2'], 4);
    const [q1, q2] = nodes as [HubNode, HubNode];
    const first = await pool.device(q1.mqttUrl, cred('t1-h2-smoke'), { clean: false });
    await first.subscribeAsync('smokehub/h/t1-h2/alert', { qos: 1 });
    await first.endAsync();
    const origin = await pool.device(q1.mqttUrl, cred('t1-h1-smoke'));
    await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'queued-1', type: 'panic' }), { qos: 1 });
    // A panic is active at once; wait until node 1 has published it (the station's view says so).
    const station = await pool.connect(q1.mqttUrl, { clientId: 'st-q', username: STATION.username, password: STATION.password });
    const sIn = new Inbox(station);
    await station.subscribeAsync('smokehub/station/alarm', { qos: 1 });
    const raised = (await sIn.next((m) => m.json().origin.household === 't1-h1', 5000, 'raised')).json();
    const back = await pool.device(q2.mqttUrl, cred('t1-h2-smoke'), { clean: false });
    const bIn = new Inbox(back);
    const got = (await bIn.next((m) => m.topic === 'smokehub/h/t1-h2/alert' && m.json().alarm === raised.alarm, 8000, 'the queued alert on node 2')).json();
    assert.equal(got.origin.household, 't1-h1');
    await pool.closeAll();
  });
});
