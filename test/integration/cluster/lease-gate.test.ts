/**
 * Two "nodes" (two pools, two lease keepers, two LeaseGates) on one real PostgreSQL: exactly one
 * holds "supervision"; when the holder dies (its connections cut, renewals fail, its row is not
 * released) the other holds it within ttl + one renewal interval, and both nodes' watchers hear it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../../hub/core/clock.ts';
import { LeaseKeeper, migrateLeases, renewIntervalMs } from '../../../hub/cluster/leases.ts';
import { LeaseGate } from '../../../hub/cluster/lease-gate.ts';
import { PgPool } from '../../../hub/cluster/pg-pool.ts';
import { startPostgres, postgresAvailable, type PostgresServer } from '../../helpers/postgres-server.ts';
import { freshDatabase } from '../../helpers/pg-database.ts';
import { waitFor } from '../../helpers/cluster-kit.ts';

const TTL = 1500;
const INTERVAL = renewIntervalMs(TTL);
/** An attempt's own time, and timers' lateness. */
const SLACK = 400;

interface Node {
  name: string;
  pool: PgPool;
  gate: LeaseGate;
  heard: Array<{ held: boolean; at: number }>;
}

describe('LeaseGate across two nodes', { skip: !postgresAvailable() && 'PostgreSQL is not installed' }, () => {
  let server: PostgresServer;
  let url: string;
  const all: Node[] = [];
  before(async () => {
    server = await startPostgres();
    url = freshDatabase(server);
    const pool = new PgPool({ connectionString: url });
    await migrateLeases(pool);
    await pool.end();
  });
  after(async () => {
    for (const n of all) {
      await n.gate.stop().catch(() => undefined);
      if (!n.pool.isClosed) await n.pool.end().catch(() => undefined);
    }
    await server?.stop();
  });

  function node(name: string): Node {
    const pool = new PgPool({ connectionString: url, connectTimeoutMs: 500, statementTimeoutMs: 1000, applicationName: name, onError: () => {} });
    const keeper = new LeaseKeeper({ pool, clock: systemClock, node: name, onError: () => {} });
    const n: Node = { name, pool, gate: new LeaseGate({ keeper, ttlMs: TTL }), heard: [] };
    all.push(n);
    return n;
  }
  const holders = (nodes: Node[]) => nodes.filter((n) => n.gate.holds('supervision'));

  test('exactly one holds "supervision"; its death hands it over within ttl + one interval; watchers hear both sides', async (t) => {
    const nodes = [node('g1'), node('g2')];
    // Watching keeps the lease (lazily); the watcher is told the current state at once: not held yet.
    for (const n of nodes) n.gate.watch('supervision', (held) => n.heard.push({ held, at: Date.now() }));
    for (const n of nodes)
      assert.deepEqual(
        n.heard.map((h) => h.held),
        [false],
      );

    const holder = await waitFor(() => holders(nodes)[0], 5000, 'a holder');
    // Through several renewals, never two holders.
    const until = Date.now() + 3 * INTERVAL;
    await waitFor(
      () => {
        assert.equal(holders(nodes).length, 1, 'exactly one holder');
        return Date.now() >= until;
      },
      5000,
      'three renewal intervals',
    );
    const other = nodes.find((n) => n !== holder)!;
    assert.deepEqual(
      holder.heard.map((h) => h.held),
      [false, true],
    );
    assert.deepEqual(
      other.heard.map((h) => h.held),
      [false],
    );
    const fence = holder.gate.fence('supervision')!;
    assert.ok(fence > 0);
    assert.equal(other.gate.fence('supervision'), undefined);

    const died = Date.now();
    holder.pool.destroy(); // kill -9 of the holder, as PostgreSQL sees it: no release, renewals fail
    await waitFor(() => other.gate.holds('supervision'), TTL + INTERVAL + SLACK + 1000, 'the takeover');
    const took = other.heard.at(-1)!;
    assert.equal(took.held, true, "the new holder's watcher heard it");
    const failoverMs = took.at - died;
    assert.ok(failoverMs <= TTL + INTERVAL + SLACK, `taken over in ${failoverMs} ms`);
    assert.ok(other.gate.fence('supervision')! > fence, 'a higher fence');
    // The dead one gave it up locally, and its watcher heard it before the new holder started.
    assert.equal(holder.gate.holds('supervision'), false);
    assert.deepEqual(
      holder.heard.map((h) => h.held),
      [false, true, false],
    );
    assert.ok(holder.heard[2]!.at <= took.at, 'the old holder stopped before the new one started');
    t.diagnostic(`failover: ${failoverMs} ms (ttl ${TTL} ms, renewal interval ${INTERVAL} ms)`);
  });

  test('a stopped gate releases its leases: the other node takes them at its next attempt; an unsubscribed watcher hears nothing', async () => {
    const nodes = [node('g3'), node('g4')];
    const quiet: boolean[] = [];
    for (const n of nodes) n.gate.watch('sms', (held) => n.heard.push({ held, at: Date.now() }));
    const unwatch = nodes[1]!.gate.watch('sms', (held) => quiet.push(held));
    unwatch();
    assert.deepEqual(quiet, [false]);
    const holder = await waitFor(() => nodes.find((n) => n.gate.holds('sms')), 5000, 'a holder of sms');
    const other = nodes.find((n) => n !== holder)!;
    const stopped = Date.now();
    await holder.gate.stop();
    assert.deepEqual(
      holder.heard.map((h) => h.held),
      [false, true, false],
      'stop tells the watchers first',
    );
    assert.equal(holder.gate.holds('sms'), false);
    await waitFor(() => other.gate.holds('sms'), INTERVAL + SLACK + 1000, 'the next holder');
    assert.ok(other.heard.at(-1)!.at - stopped <= INTERVAL + SLACK, 'before the ttl ran out');
    assert.deepEqual(quiet, [false]);
  });
});
