/**
 * Two "nodes" (two pools, two lease keepers) on one real PostgreSQL: one lease is held by exactly
 * one of them, taken over when its holder dies or stops, given up when PostgreSQL dies, and taken
 * again by exactly one when it is back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../../hub/core/clock.ts';
import { LeaseKeeper, migrateLeases } from '../../../hub/cluster/leases.ts';
import { PgPool } from '../../../hub/cluster/pg-pool.ts';
import { startPostgres, postgresAvailable, type PostgresServer } from '../../helpers/postgres-server.ts';
import { freshDatabase } from '../../helpers/pg-database.ts';
import { waitFor } from '../../helpers/cluster-kit.ts';

const TTL = 1500;
const INTERVAL = TTL / 3;
/** An attempt's own time, and timers' lateness. */
const SLACK = 400;

interface Node {
  name: string;
  pool: PgPool;
  keeper: LeaseKeeper;
  events: Array<{ kind: 'acquired' | 'lost'; fence?: number; at: number }>;
}

describe('leases across two nodes', { skip: !postgresAvailable() && 'PostgreSQL is not installed' }, () => {
  let server: PostgresServer;
  let url: string;
  const all: Node[] = [];
  before(async () => {
    server = await startPostgres();
    url = freshDatabase(server);
    const pool = new PgPool({ connectionString: url });
    await migrateLeases(pool);
    await migrateLeases(pool); // idempotent
    await pool.end();
  });
  after(async () => {
    for (const n of all) {
      await n.keeper.stop();
      if (!n.pool.isClosed) await n.pool.end().catch(() => undefined);
    }
    await server?.stop();
  });

  function node(name: string, lease: string): Node {
    const pool = new PgPool({ connectionString: url, connectTimeoutMs: 500, statementTimeoutMs: 1000, applicationName: name, onError: () => {} });
    const keeper = new LeaseKeeper({ pool, clock: systemClock, node: name, onError: () => {} });
    const n: Node = { name, pool, keeper, events: [] };
    keeper.keep(lease, {
      ttlMs: TTL,
      onAcquired: (fence) => n.events.push({ kind: 'acquired', fence, at: Date.now() }),
      onLost: () => n.events.push({ kind: 'lost', at: Date.now() }),
    });
    all.push(n);
    return n;
  }
  const holders = (lease: string, nodes: Node[]) => nodes.filter((n) => n.keeper.holds(lease));
  const lastFence = (n: Node) => n.events.filter((e) => e.kind === 'acquired').at(-1)?.fence;

  /** Exactly one holds it, through several renewals (its row's expiry moves on), never both. */
  async function exactlyOne(lease: string, nodes: Node[]): Promise<Node> {
    const holder = await waitFor(() => holders(lease, nodes)[0], 5000, `a holder of ${lease}`);
    const expiry = () => Number(server.sql(`SELECT expires_at FROM leases WHERE name = '${lease}'`, url.split('/').pop()));
    const first = expiry();
    await waitFor(
      () => {
        assert.ok(holders(lease, nodes).length <= 1, 'never two holders');
        return expiry() >= first + 2 * INTERVAL;
      },
      5000,
      'two renewals',
    );
    assert.deepEqual(holders(lease, nodes), [holder]);
    return holder;
  }

  test('two nodes on one lease: exactly one holds it; its death hands it over within ttl + one interval, with a higher fence', async () => {
    const nodes = [node('n1', 'sweeps'), node('n2', 'sweeps')];
    const holder = await exactlyOne('sweeps', nodes);
    const other = nodes.find((n) => n !== holder)!;
    const fence = lastFence(holder)!;
    assert.ok(fence > 0);
    assert.equal(other.events.length, 0, 'the other never held it');

    const died = Date.now();
    holder.pool.destroy(); // kill -9 of the holder, as PostgreSQL sees it
    await waitFor(() => other.keeper.holds('sweeps'), TTL + INTERVAL + SLACK + 1000, 'the takeover');
    const took = other.events.at(-1)!;
    assert.equal(took.kind, 'acquired');
    assert.ok(took.at - died <= TTL + INTERVAL + SLACK, `taken over in ${took.at - died} ms`);
    assert.ok(took.fence! > fence, 'a higher fence');
    // The dead one (its process still running here) gave it up locally by then.
    assert.ok(!holder.keeper.holds('sweeps'));
    assert.deepEqual(
      holder.events.map((e) => e.kind),
      ['acquired', 'lost'],
    );
    assert.ok(holder.events[1]!.at <= took.at, 'the old holder stopped before the new one started');
  });

  test('a graceful stop releases the lease at once', async () => {
    const nodes = [node('n3', 'sms'), node('n4', 'sms')];
    const holder = await exactlyOne('sms', nodes);
    const other = nodes.find((n) => n !== holder)!;
    const fence = lastFence(holder)!;
    const stopped = Date.now();
    await holder.keeper.stop();
    assert.deepEqual(
      holder.events.map((e) => e.kind),
      ['acquired', 'lost'],
      'stop gives it up first',
    );
    await waitFor(() => other.keeper.holds('sms'), INTERVAL + SLACK + 1000, 'the next holder');
    const took = other.events.at(-1)!;
    assert.ok(took.at - stopped <= INTERVAL + SLACK, `taken in ${took.at - stopped} ms, before the ttl ran out`);
    assert.ok(took.fence! > fence, 'a higher fence even though the row was deleted');
  });

  test('PostgreSQL killed: the holder gives the lease up within its ttl, nobody holds it; back: exactly one holds it again', async (t) => {
    const nodes = [node('n5', 'outbox'), node('n6', 'outbox')];
    const holder = await exactlyOne('outbox', nodes);
    // Up again for the next tests even when this one fails between the kill and the start.
    t.after(() => server.start());
    const killed = Date.now();
    await server.kill();
    await waitFor(() => holder.events.at(-1)?.kind === 'lost', TTL + SLACK + 1000, 'the loss');
    const lost = holder.events.at(-1)!.at;
    assert.ok(lost - killed <= TTL + SLACK, `lost after ${lost - killed} ms`);
    assert.deepEqual(holders('outbox', nodes), []);

    await server.start();
    await exactlyOne('outbox', nodes);
  });
});
