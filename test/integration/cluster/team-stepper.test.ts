/**
 * Two hub "nodes" (two pools, two engines) sharing one real PostgreSQL: a team's inputs are decided
 * once for the cluster, deadlines fire once even when a node dies, and PostgreSQL's death only
 * delays steps.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceEvent } from '../../../hub/protocol/schema.ts';
import { startPostgres, postgresAvailable, type PostgresServer } from '../../helpers/postgres-server.ts';
import { freshDatabase } from '../../helpers/pg-database.ts';
import { src, testNode, waitFor, type TestNode } from '../../helpers/cluster-kit.ts';
import type { StepResult } from '../../../hub/cluster/team-stepper.ts';

const ev = (type: string, id: string): DeviceEvent => ({ id, type: type as never });

/** A device event stepped on `node` (de-duplicated by its id). */
function event(node: TestNode, household: string, type: string, id: string, now = Date.now(), device = `${household}-smoke`): Promise<StepResult> {
  const s = src(household, device);
  return node.stepper.step(s.team, (e, t) => e.handleDeviceEvent(s, ev(type, id), t), { now, event: { device, id } });
}

function count(server: PostgresServer, db: string, sql: string): number {
  return Number(server.sql(sql, db));
}

describe('team stepper and deadline sweeper across two nodes', { skip: !postgresAvailable() && 'PostgreSQL is not installed' }, () => {
  let server: PostgresServer;
  const nodes: TestNode[] = [];
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    for (const n of nodes) {
      await n.sweeper.stop();
      if (!n.pool.isClosed) await n.pool.end().catch(() => undefined);
    }
    await server?.stop();
  });
  async function twoNodes(settings = {}): Promise<{ n1: TestNode; n2: TestNode; db: string }> {
    const url = freshDatabase(server);
    const n1 = await testNode('n1', url, { settings });
    const n2 = await testNode('n2', url, { settings });
    nodes.push(n1, n2);
    return { n1, n2, db: url.split('/').pop()! };
  }

  test('two households of one team alarming at the same moment on two nodes: one alarm each, both escalated for multiple-households', async () => {
    const { n1, n2, db } = await twoNodes();
    for (let round = 0; round < 10; round++) {
      const now = Date.now();
      const [ra, rb] = await Promise.all([event(n1, 'a', 'smoke', `ea${round}`, now), event(n2, 'b', 'smoke', `eb${round}`, now)]);
      assert.equal(ra.kind, 'done');
      assert.equal(rb.kind, 'done');
      const open = await n1.journal.openRecords();
      assert.deepEqual(open.map((r) => r.originHousehold).sort(), ['a', 'b'], 'one open alarm per household, never two for one');
      for (const r of open) {
        assert.equal(r.state, 'escalated');
        assert.equal(r.escalation, 'multiple-households');
      }
      const rows = await n2.journal.list({ states: ['escalated'] });
      assert.ok(
        rows.every((row) => [...(row.view.households ?? [])].sort().join() === 'a,b'),
        'each view names both households',
      );
      // close them for the next round (the station)
      for (const r of open) {
        const cause = { by: { kind: 'user' as const, id: 'chief', role: 'station' as const }, via: 'http' as const };
        await n1.stepper.step('team1', (e, t) => e.resolveByStation(r.id, t, cause), { now: Date.now() });
      }
      assert.equal((await n1.journal.openRecords()).length, 0);
    }
    assert.equal(count(server, db, "SELECT count(*) FROM alarm_timeline WHERE transition = 'raised'"), 20);
    assert.equal(count(server, db, "SELECT count(*) FROM alarm_timeline WHERE transition = 'escalated'"), 20);
  });

  test('two devices of one household on two nodes at once: one alarm, activated by the second device', async () => {
    const { n1, n2 } = await twoNodes();
    const now = Date.now();
    await Promise.all([event(n1, 'c', 'smoke', 'c1', now, 'c-smoke'), event(n2, 'c', 'smoke', 'c2', now, 'c-kitchen')]);
    const open = await n1.journal.openRecords();
    assert.equal(open.length, 1);
    assert.equal(open[0]!.state, 'active');
    assert.deepEqual(Object.keys(open[0]!.alarming).sort(), ['c-kitchen', 'c-smoke']);
  });

  test('the same event id delivered to both nodes: one alarm, the other a duplicate', async () => {
    const { n1, n2, db } = await twoNodes();
    const now = Date.now();
    const results = await Promise.all([event(n1, 'x', 'smoke', 'same', now), event(n2, 'x', 'smoke', 'same', now)]);
    assert.deepEqual(results.map((r) => r.kind).sort(), ['done', 'duplicate']);
    assert.equal((await n2.journal.openRecords()).length, 1);
    assert.equal(count(server, db, 'SELECT count(*) FROM alarm_timeline'), 1);
    assert.equal((await event(n1, 'x', 'smoke', 'same')).kind, 'duplicate', 'a later redelivery too');
  });

  test('node 1 dies after arming a verify deadline: node 2’s sweeper fires it once, on time', async () => {
    const { n1, n2, db } = await twoNodes({ verifyWindowMs: 1500 });
    const now = Date.now();
    const r = await event(n1, 'y', 'smoke', 'y1', now);
    assert.equal(r.kind, 'done');
    const deadline = now + 1500;
    n1.pool.destroy(); // kill -9 of node 1
    n2.sweeper.start();
    const fired = await waitFor(
      () => n2.fired.find((f) => f.result.effects.some((e) => e.type === 'journal' && e.transition === 'activated')),
      5000,
      'activation',
    );
    assert.ok(fired.at >= deadline, 'not early');
    assert.ok(fired.at - deadline < 250 + 500, `on time (${fired.at - deadline} ms late)`);
    const open = await n2.journal.openRecords();
    assert.equal(open[0]!.state, 'active');
    // further sweeps find nothing more to fire
    await new Promise((res) => setTimeout(res, 600));
    await n2.sweeper.sweepOnce();
    assert.equal(count(server, db, "SELECT count(*) FROM alarm_timeline WHERE transition = 'activated'"), 1);
    await n2.sweeper.stop();
  });

  test('a node that dies holding a due deadline’s row and its team’s lock: another node fires it once it is released', async () => {
    const { n1, n2, db } = await twoNodes({ verifyWindowMs: 300 });
    const now = Date.now();
    await event(n1, 'z', 'smoke', 'z1', now);
    // Node 1 is mid-sweep: its transaction holds the due row and the team's lock.
    await waitFor(() => Date.now() >= now + 300, 2000, 'the deadline');
    const client = await n1.pool.pool.connect();
    await client.query('BEGIN');
    const { rows } = await client.query('SELECT id FROM alarms WHERE open AND next_deadline <= $1 FOR UPDATE SKIP LOCKED', [Date.now()]);
    assert.equal(rows.length, 1);
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended('team:' || $1, 0))", ['team2']);
    client.on('error', () => undefined);
    assert.deepEqual(await n2.sweeper.sweepOnce(), [], 'the row is skipped while node 1 holds it');
    n1.pool.destroy();
    const teams = await waitFor(async () => {
      const t = await n2.sweeper.sweepOnce();
      return t.length > 0 ? t : null;
    }, 5000);
    assert.deepEqual(teams, ['team2']);
    assert.deepEqual(await n2.sweeper.sweepOnce(), []);
    assert.equal(count(server, db, "SELECT count(*) FROM alarm_timeline WHERE transition = 'activated'"), 1);
  });

  test('a step fires its team’s due deadlines before its input, and the sweeper then finds nothing', async () => {
    const { n1, n2, db } = await twoNodes({ verifyWindowMs: 100 });
    const t0 = Date.now();
    await event(n1, 'a', 'smoke', 'late1', t0);
    const r = await event(n2, 'b', 'test', 'late2', t0 + 200);
    assert.equal(r.kind, 'done');
    assert.ok(r.kind === 'done' && r.effects.some((e) => e.type === 'journal' && e.transition === 'activated'));
    assert.deepEqual(await n1.sweeper.sweepOnce(t0 + 300), []);
    assert.equal(count(server, db, "SELECT count(*) FROM alarm_timeline WHERE transition = 'activated'"), 1);
  });

  test('PostgreSQL killed during steps: they wait, succeed after its restart, none lost or duplicated', async (t) => {
    const { n1, n2, db } = await twoNodes();
    // Up again for the next tests even when this one fails between the kill and the start.
    t.after(() => server.start());
    const done: string[] = [];
    const steps: Array<Promise<StepResult>> = [];
    const households = ['a', 'b', 'c', 'x', 'y', 'z'];
    for (let i = 0; i < 6; i++) {
      const node = i % 2 === 0 ? n1 : n2;
      const h = households[i]!;
      steps.push(
        event(node, h, 'smoke', `k${i}`).then((r) => {
          done.push(h);
          return r;
        }),
      );
      if (i === 2) await server.kill();
    }
    const acknowledgedBeforeRestart = [...done];
    await server.start();
    const results = await Promise.race([
      Promise.all(steps),
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error('steps did not finish after the restart')), 20_000)),
    ]);
    assert.ok(results.every((r) => r.kind === 'done' || r.kind === 'duplicate'));
    // Every household's event is in the journal exactly once (a commit cut off mid-way is retried as a duplicate).
    assert.equal(count(server, db, 'SELECT count(*) FROM seen_events'), 6);
    assert.equal(count(server, db, "SELECT count(*) FROM alarm_timeline WHERE transition = 'raised'"), 6);
    const open = await n1.journal.openRecords();
    assert.deepEqual(open.map((r) => r.originHousehold).sort(), households);
    for (const h of acknowledgedBeforeRestart)
      assert.ok(
        open.some((r) => r.originHousehold === h),
        `${h} acknowledged before the kill is kept`,
      );
    // both teams had two households alarming: all escalated together
    assert.ok(open.every((r) => r.state === 'escalated'));
  });
});
