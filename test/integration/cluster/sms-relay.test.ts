/**
 * SMS in a cluster, on a real PostgreSQL: two nodes (two pools, two SMS extensions with a modem each,
 * gates toggled by the test). An alarm stepped on the node that does not hold `sms` is texted by the
 * holder, through the relay table; the same change heard twice is texted once; after the lease moves,
 * the new holder texts what the old one hears. The node without the lease never opens its modem.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../../hub/core/clock.ts';
import { PgPool } from '../../../hub/cluster/pg-pool.ts';
import type { AlarmView } from '../../../hub/protocol/schema.ts';
import { LEASE_SMS, smsExtension, type SmsExtension } from '../../../hub/sms/sms-extension.ts';
import { OutboundQueue } from '../../../hub/sms/outbound-queue.ts';
import { startPostgres, postgresAvailable, type PostgresServer } from '../../helpers/postgres-server.ts';
import { freshDatabase } from '../../helpers/pg-database.ts';
import { waitFor } from '../../helpers/cluster-kit.ts';
import { fakeHubContext, type FakeHub } from '../../helpers/fake-hub-context.ts';
import { FakeModem } from '../../helpers/fake-modem.ts';

const households = [
  { id: 'h1', team: 't1', phones: ['+84901000001'] },
  { id: 'h2', team: 't1', phones: ['+84901000002'] },
];
const view = (over: Partial<AlarmView>): AlarmView => ({
  alarm: 'A1',
  state: 'pre-alarm',
  kind: 'smoke',
  team: 't1',
  origin: { household: 'h1', name: 'Nhà Lan', address: '12 Lê Lợi', lat: 20.95, lon: 107.08, device: 'h1-smoke' },
  raisedAt: Date.now(),
  updatedAt: Date.now(),
  responders: [],
  escalation: null,
  nearbyHouseholds: [],
  ...over,
});

interface Node {
  name: string;
  pool: PgPool;
  hub: FakeHub;
  modem: FakeModem;
  ext: SmsExtension;
}

describe('SMS relay across two nodes', { skip: !postgresAvailable() && 'PostgreSQL is not installed' }, () => {
  let server: PostgresServer;
  let url: string;
  const nodes: Node[] = [];
  before(async () => {
    server = await startPostgres();
    url = freshDatabase(server);
  });
  after(async () => {
    for (const n of nodes) {
      await n.ext.stop().catch(() => undefined);
      if (!n.pool.isClosed) await n.pool.end().catch(() => undefined);
      n.hub.close();
    }
    await server?.stop();
  });

  async function node(name: string): Promise<Node> {
    const pool = new PgPool({ connectionString: url, applicationName: name, onError: () => {} });
    const hub = fakeHubContext({ clock: systemClock, households, cluster: { nodeId: name, pool, activity: { onRemote: () => () => {} } } });
    const modem = new FakeModem();
    const ext = smsExtension(hub.ctx.config, { modems: [{ name: `${name}-modem`, modem }] });
    const n = { name, pool, hub, modem, ext };
    nodes.push(n);
    await ext.start(hub.ctx);
    return n;
  }
  const relayRows = () => Number(server.sql('SELECT count(*) FROM sms_relay', url.split('/').pop()));

  test('an alarm stepped on the node without the lease is texted by the holder, once; then the lease moves', async () => {
    const a = await node('n1');
    const b = await node('n2');
    a.hub.gate.set(LEASE_SMS, true);
    await waitFor(() => a.modem.starts === 1, 5000, "the holder's modem open");

    // Stepped on n2 (its bus), twice (a redelivery): texted once, by n1.
    const raised = view({ state: 'pre-alarm' });
    b.hub.ctx.bus.emit('alarm-changed', raised, 'raised');
    b.hub.ctx.bus.emit('alarm-changed', raised, 'raised');
    await waitFor(() => a.modem.sent.length === 1, 5000, 'the pre-alarm text sent by the holder');
    assert.equal(a.modem.sent[0]!.to, '+84901000001');
    await waitFor(() => relayRows() === 0, 5000, 'the relay drained');
    assert.equal(b.modem.starts, 0, 'n2 never opened its modem');
    assert.deepEqual(new OutboundQueue(b.hub.ctx.db).listForAlarm('A1'), [], "nothing waits in n2's own queue");
    assert.equal(new OutboundQueue(a.hub.ctx.db).listForAlarm('A1').filter((i) => i.kind === 'sms').length, 1, 'the duplicate queued nothing');

    // The lease moves to n2; an alarm change heard on n1 is texted by n2.
    a.hub.gate.set(LEASE_SMS, false);
    await waitFor(() => a.modem.stops === 1, 5000, "n1's modem closed");
    b.hub.gate.set(LEASE_SMS, true);
    await waitFor(() => b.modem.starts === 1, 5000, "n2's modem open");
    a.hub.ctx.bus.emit('alarm-changed', view({ state: 'active', updatedAt: Date.now() }), 'activated');
    await waitFor(() => b.modem.sent.some((s) => s.to === '+84901000002'), 5000, 'the active text to h2 sent by n2');
    assert.equal(a.modem.sent.length, 1, 'n1 sent nothing more');
  });
});
