/**
 * Two cluster alarm services (two "nodes") on one real PostgreSQL, with a recording publisher in
 * place of the broker: announcements after the commit, PUBACKs (whenDurable) after it, replicas
 * converging through LISTEN/NOTIFY, and PostgreSQL's death: nothing acknowledged, known alarms
 * still answered, /health degraded, recovery without restart.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AlarmEngine } from '../../../hub/core/alarm-engine.ts';
import { systemClock } from '../../../hub/core/clock.ts';
import { EventBus } from '../../../hub/app/event-bus.ts';
import { HubHealth } from '../../../hub/app/hub-health.ts';
import { createLogger, silentLogger } from '../../../hub/observability/logger.ts';
import { MetricsRegistry } from '../../../hub/observability/metrics.ts';
import { PgPool } from '../../../hub/cluster/pg-pool.ts';
import { PgAlarmJournal } from '../../../hub/cluster/pg-journal.ts';
import { ClusterAlarmService } from '../../../hub/cluster/cluster-alarm-service.ts';
import type { DeviceEvent } from '../../../hub/protocol/schema.ts';
import { startPostgres, postgresAvailable, type PostgresServer } from '../../helpers/postgres-server.ts';
import { freshDatabase } from '../../helpers/pg-database.ts';
import { TEAMS, directory, src, waitFor } from '../../helpers/cluster-kit.ts';

interface Node {
  service: ClusterAlarmService;
  pool: PgPool;
  journal: PgAlarmJournal;
  health: HubHealth;
  published: Array<{ topic: string; payload: string }>;
}

async function node(name: string, url: string): Promise<Node> {
  const metrics = new MetricsRegistry();
  const logger = process.env.CJ_DEBUG ? createLogger({ level: 'warn' }) : silentLogger();
  const pool = new PgPool({ connectionString: url, applicationName: name, attempts: 1 });
  const journal = new PgAlarmJournal(pool);
  let n = 0;
  const engine = new AlarmEngine(
    { verifyWindowMs: 20_000, escalateAfterMs: 120_000, resolveQuietMs: 60_000, hushPeriodMs: 300_000 },
    directory,
    () => `${name}-${++n}-${Date.now()}`,
  );
  const published: Node['published'] = [];
  const health = new HubHealth();
  const service = new ClusterAlarmService({
    pool,
    connectionString: url,
    journal,
    engine,
    directory,
    node: name,
    mqtt: { publish: (topic, payload, _o, done) => (published.push({ topic, payload: String(payload) }), done?.(null)) },
    clock: systemClock,
    bus: new EventBus(metrics, logger, systemClock),
    logger,
    metrics,
    health,
    devicesOf: (h) => [{ id: `${h}-smoke` }],
    allHouseholds: () => Object.values(TEAMS).flat(),
  });
  await service.start();
  return { service, pool, journal, health, published };
}

const ev = (type: string, id: string): DeviceEvent => ({ id, type: type as never });
const durable = (n: Node) => new Promise<void>((r) => n.service.whenDurable(r));

describe('cluster alarm service on two nodes', { skip: !postgresAvailable() && 'PostgreSQL is not installed' }, () => {
  let server: PostgresServer;
  let n1: Node;
  let n2: Node;
  before(async () => {
    server = await startPostgres();
    const url = freshDatabase(server);
    n1 = await node('n1', url);
    n2 = await node('n2', url);
  });
  after(async () => {
    for (const n of [n1, n2]) {
      await n?.service.stop();
      await n?.pool.end();
    }
    await server?.stop();
  });

  test('an event on node 1: announced and acknowledged after its commit; node 2’s replica learns it', async () => {
    assert.equal(n1.service.handleDeviceEvent(src('a'), ev('smoke', 'e1'), Date.now()), true);
    assert.equal(n1.service.handleDeviceEvent(src('a'), ev('smoke', 'e1'), Date.now()), false, 'a redelivery to the same node');
    await durable(n1);
    const open = await n1.journal.openRecords();
    assert.equal(open.length, 1, 'committed before the PUBACK');
    assert.ok(n1.published.some((p) => p.topic === 'smokehub/h/a/alert' && JSON.parse(p.payload).alarm === open[0]!.id));
    assert.ok(n1.published.some((p) => p.topic === 'smokehub/station/alarm'));
    assert.equal(n1.service.concerning('a')[0]?.alarm, open[0]!.id);
    await waitFor(() => n2.service.concerning('a').length === 1, 5000, 'node 2’s replica');
    assert.equal(n2.service.openViews()[0]!.state, 'pre-alarm');
    assert.equal(
      n2.published.filter((p) => p.topic.endsWith('/alert') || p.topic === 'smokehub/station/alarm').length,
      0,
      'node 2 announced nothing: node 1 did',
    );
    // The same event redelivered to node 2 (the device moved): a duplicate, no second alarm.
    assert.equal(n2.service.handleDeviceEvent(src('a'), ev('smoke', 'e1'), Date.now()), true);
    await durable(n2);
    assert.equal((await n2.journal.openRecords()).length, 1);
  });

  test('a response on node 2 to node 1’s alarm: the committed outcome; both replicas converge', async () => {
    const id = n1.service.openViews()[0]!.alarm;
    const cause = { by: { kind: 'user' as const, id: 'b-user', role: 'household' as const }, via: 'http' as const };
    await assert.rejects(n2.service.respondAsync('b', 'nope', 'coming', cause), { code: 'not_found' });
    assert.throws(() => n2.service.respond('x', id, 'coming', cause), { code: 'forbidden' });
    const view = await n2.service.respondAsync('b', id, 'coming', cause);
    assert.deepEqual(
      view.responders.map((r) => [r.household, r.response]),
      [['b', 'coming']],
    );
    await waitFor(() => n1.service.viewOf(id)?.responders.length === 1, 5000, 'node 1’s replica');
    const station = { by: { kind: 'user' as const, id: 'chief', role: 'station' as const }, via: 'http' as const };
    const closed = await n1.service.resolveAsync(id, station);
    assert.equal(closed.state, 'resolved');
    await assert.rejects(n2.service.resolveAsync(id, station), { code: 'conflict' });
    await waitFor(() => n2.service.openViews().length === 0, 5000, 'node 2’s replica closes it');
    assert.equal((await n2.service.viewOfAsync(id))?.state, 'resolved');
  });

  test('PostgreSQL down: events wait unacknowledged, known alarms still answered, health degraded; all lands after the restart', async (t) => {
    // Up again for the next tests even when this one fails between the kill and the start.
    t.after(() => server.start());
    n1.service.handleDeviceEvent(src('x'), ev('smoke', 'k0'), Date.now());
    await durable(n1);
    await waitFor(() => n2.service.concerning('x').length === 1, 5000, 'node 2 knows x’s alarm');
    await server.kill();
    let acked = false;
    n2.service.handleDeviceEvent(src('y'), ev('smoke', 'k1'), Date.now());
    n2.service.whenDurable(() => {
      acked = true;
    });
    await waitFor(() => n2.health.reasons().includes('journal'), 5000, 'degraded health');
    assert.equal(acked, false, 'not acknowledged while PostgreSQL is down');
    assert.equal(n2.service.concerning('x').length, 1, 'the known alarm is still answered');
    await server.start();
    await waitFor(() => acked, 20_000, 'the PUBACK after the restart');
    await waitFor(() => n2.health.reasons().length === 0, 5000, 'health recovered');
    const open = await n2.journal.openRecords();
    assert.deepEqual(open.map((r) => [r.originHousehold, r.state]).sort(), [
      ['x', 'escalated'],
      ['y', 'escalated'],
    ]);
    await waitFor(
      () => n1.service.concerning('y').some((v) => v.origin.household === 'y' && v.state === 'escalated'),
      10_000,
      'node 1’s listener reconnected and reloaded',
    );
  });
});
