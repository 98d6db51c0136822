/**
 * The shared engines failing under a cluster of two hub node processes: PostgreSQL killed and
 * started, then Redis killed and started, while devices keep sending events; nothing acknowledged
 * is lost, and a node without Redis says so on /health.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HubNode } from '../../helpers/cluster-hubs.ts';
import { clusterSkip, clusterSuite, journalRows, until } from '../../helpers/cluster-suite.ts';

describe('a cluster of hub nodes when PostgreSQL and Redis fail', { skip: clusterSkip, timeout: 170_000 }, () => {
  const suite = clusterSuite();
  const { pool } = suite;
  const cluster = (nodes: string[], redisDb: number) => suite.cluster(nodes, redisDb);

  test('PostgreSQL restarted, then Redis restarted, under a stream of events: every acknowledged event is in the journal', async () => {
    const { nodes, cred, url } = await cluster(['r1', 'r2'], 5);
    const [r1, r2] = nodes as [HubNode, HubNode];
    const servers = [
      { host: '127.0.0.1', port: r1.mqttPort },
      { host: '127.0.0.1', port: r2.mqttPort },
    ];
    const devices = ['t1-h1', 't1-h2', 't1-h3', 't2-h1', 't2-h2', 't2-h3'].map((h) => `${h}-smoke`);
    const acked = new Set<string>();
    let sent = 0;
    let running = true;
    // Each device sends a `clear` (no alarm, but a journalled, de-duplicated event) every 50 ms, QoS 1.
    const senders = devices.map(async (d, i) => {
      const c = await pool.device(i % 2 ? r2.mqttUrl : r1.mqttUrl, cred(d), { servers, reconnectPeriod: 200, reconnectOnConnackError: true, clean: false });
      const household = d.replace(/-smoke$/, '');
      while (running) {
        const id = `${d}-${sent++}`;
        c.publishAsync(`smokehub/h/${household}/d/${d}/event`, JSON.stringify({ id, type: 'clear' }), { qos: 1 }).then(
          () => acked.add(`${d}\u0000${id}`),
          () => {},
        );
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    const ackedAfter = async (n: number, what: string) => {
      const from = acked.size;
      await until(async () => acked.size >= from + n, 30_000, what);
    };
    await ackedAfter(60, 'events acknowledged before the faults');
    await suite.postgres.kill();
    await suite.postgres.start();
    await ackedAfter(60, 'events acknowledged again after PostgreSQL came back');
    await suite.redis.kill();
    // Without Redis a node says so (a load balancer stops sending it devices) and refuses MQTT.
    const degraded = await until(
      async () => {
        const r = await fetch(`${r1.httpUrl}/health`);
        return r.status === 503 ? ((await r.json()) as { reasons?: string[] }) : null;
      },
      10_000,
      'node 1 reports redis in /health',
    );
    assert.ok(degraded.reasons?.includes('redis'), JSON.stringify(degraded));
    await suite.redis.start();
    await ackedAfter(60, 'events acknowledged again after Redis came back');
    running = false;
    await Promise.all(senders);
    // What was acknowledged before the journal is read was committed before (the PUBACK follows the
    // commit); a PUBACK still in flight may arrive while it is read, and is not counted.
    const ackedBefore = [...acked];
    const seen = new Set((await journalRows(url)).seen.map((r) => `${r.device}\u0000${r.event_id}`));
    const lost = ackedBefore.filter((k) => !seen.has(k));
    assert.deepEqual(lost, [], `${lost.length} of ${ackedBefore.length} acknowledged events are not in the journal`);
    assert.ok(ackedBefore.length >= 180);
    // Both nodes are healthy again.
    for (const n of [r1, r2]) await until(async () => (await fetch(`${n.httpUrl}/health`)).status === 200, 20_000, `${n.id} healthy`);
    await pool.closeAll();
  });
});
