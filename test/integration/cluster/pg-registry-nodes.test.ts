/**
 * PgRegistryStore as a cluster uses it: two stores on one database are two nodes. Writes through
 * one (or by anyone with SQL) reach the other's index within a second (NOTIFY); sessions are shared;
 * PostgreSQL killed and started again: reads go on from memory, the LISTEN connection comes back
 * and invalidation works again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { LISTENER_APPLICATION_NAME } from '../../../hub/cluster/pg-listener.ts';
import { REGISTRY_STEPS } from '../../../hub/cluster/pg-registry-schema.ts';
import { importCsvAsync } from '../../../hub/store/csv-import.ts';
import { createDatabase, openPgStore, within } from '../../helpers/pg-registry-kit.ts';
import { type PostgresServer, startPostgres } from '../../helpers/postgres-server.ts';
import { csv } from '../../helpers/registry-kit.ts';

let server: PostgresServer;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

test('two nodes: an import, a user and a psql write through one are known to the other within 1 s', async (t) => {
  const url = server.url(createDatabase(server));
  const hubKey = randomBytes(32);
  // Both start at once on an empty database: the migrations run once.
  const [node1, node2] = await Promise.all([openPgStore(t, url, { hubKey }), openPgStore(t, url, { hubKey })]);
  assert.equal(
    server.sql('SELECT COUNT(*) FROM schema_migrations WHERE module = $$registry$$', url.split('/').pop()),
    String(REGISTRY_STEPS.length),
    'each step once',
  );

  const r = await importCsvAsync(node1, csv('T1,H1,Nhà A,1 Đường A,,,,D1,smoke,', 'T1,H2,Nhà B,2 Đường B,,,,D2,heat,'));
  assert.ok(node1.getDevice('D1'), 'the writer sees its own import at once');
  const took = await within(1000, () => node2.getDevice('D2') !== undefined, 'node 2 knows D2');
  t.diagnostic(`import seen by the other node after ${took} ms`);
  assert.ok(node2.verifyDeviceSecret('D1', r.credentials[0]!.secret), 'a device enrolled through node 1 logs in on node 2');
  assert.deepEqual(
    node2.householdsOfTeam('T1').map((h) => h.id),
    ['H1', 'H2'],
  );

  const { password } = await node2.addUser({ username: 'lead', role: 'team-leader', team: 'T1' });
  await within(1000, () => node1.getUser('lead') !== undefined, 'node 1 knows the user');
  assert.equal((await node1.verifyUserPassword('lead', password))?.team, 'T1');

  // Any writer is heard: here psql, as an operator fixing a name by hand.
  server.sql("UPDATE households SET name = 'Nhà A (sửa)' WHERE id = 'H1'", url.split('/').pop());
  await within(1000, () => node1.getHousehold('H1')?.name === 'Nhà A (sửa)' && node2.getHousehold('H1')?.name === 'Nhà A (sửa)', 'both nodes see the fix');
  await node1.removeUser('lead');
  await within(1000, () => node2.getUser('lead') === undefined, 'node 2 forgets the removed user');
});

test('two nodes: a session created on one resolves on the other; revoked on one, refused on the other', async (t) => {
  const url = server.url(createDatabase(server));
  const hubKey = randomBytes(32);
  const node1 = await openPgStore(t, url, { hubKey });
  const node2 = await openPgStore(t, url, { hubKey });
  await importCsvAsync(node1, csv('T1,H1,Nhà A,1 Đường A,,,,D1,smoke,'));
  await node1.addUser({ username: 'nha-a', role: 'household', household: 'H1', password: 'household password' });
  // Node 2 may not have heard of the user yet: the session is checked against the database.
  const { token } = await node1.createSession('nha-a');
  const s = await node2.resolveSession(token);
  assert.deepEqual(s?.user, { username: 'nha-a', role: 'household', team: 'T1', household: 'H1' });
  const other = await node2.createSession('nha-a');
  assert.ok(await node1.resolveSession(other.token));
  assert.equal(await node1.countSessions('nha-a'), 2);
  assert.equal(await node1.revokeSession(token), true);
  assert.equal(await node2.resolveSession(token), null, 'logged out on node 1: refused on node 2 at once');
  await node2.setPassword('nha-a', 'another household password');
  assert.equal(await node1.resolveSession(other.token), null, 'a password change on node 2 ends the sessions everywhere');
});

test('PostgreSQL killed and started: reads answer from memory meanwhile; LISTEN comes back and invalidation works again', async (t) => {
  const db = createDatabase(server);
  const url = server.url(db);
  const hubKey = randomBytes(32);
  const node1 = await openPgStore(t, url, { hubKey, heartbeatMs: 300 });
  const node2 = await openPgStore(t, url, { hubKey, heartbeatMs: 300 });
  const r = await importCsvAsync(node1, csv('T1,H1,Nhà A,1 Đường A,,,,D1,smoke,'));
  await within(1000, () => node2.getDevice('D1') !== undefined, 'node 2 knows D1');
  const secret = r.credentials[0]!.secret;

  // Up again for the next tests even when this one fails between the kill and the start.
  t.after(() => server.start());
  await server.kill();
  await within(5000, () => !node1.stats.listening && !node2.stats.listening, 'both LISTEN connections noticed the loss');
  // The connect path keeps working from memory.
  assert.equal(node2.verifyDeviceSecret('D1', secret)?.id, 'D1');
  assert.deepEqual(
    node2.householdsOfTeam('T1').map((h) => h.id),
    ['H1'],
  );
  await assert.rejects(importCsvAsync(node1, csv('T1,H2,Nhà B,2 Đường B,,,,D2,heat,')), 'writes fail while PostgreSQL is down');
  await assert.rejects(node2.resolveSession('some-token'), 'sessions cannot be checked while it is down');
  node2.invalidate(); // a reload that fails keeps the old index
  await within(2000, () => node2.stats.reloadFailures > 0, 'the failed reload is counted');
  assert.equal(node2.verifyDeviceSecret('D1', secret)?.id, 'D1');

  const reconnectsBefore = node2.stats.listenReconnects;
  await server.start();
  await within(10_000, () => node1.stats.listening && node2.stats.listening, 'both LISTEN connections are back');
  assert.equal(node2.stats.listenReconnects, reconnectsBefore + 1);
  const r2 = await importCsvAsync(node1, csv('T1,H2,Nhà B,2 Đường B,,,,D2,heat,'));
  const took = await within(1000, () => node2.getDevice('D2') !== undefined, 'node 2 hears imports again');
  t.diagnostic(`after the restart, import seen by the other node after ${took} ms`);
  assert.ok(node2.verifyDeviceSecret('D2', r2.credentials[0]!.secret));
  const { token } = await node2.createSession((await node1.addUser({ username: 'op', role: 'station' })).user.username);
  assert.ok(await node1.resolveSession(token));
});

test('a write made while a node could not hear (LISTEN down) is picked up when it reconnects', async (t) => {
  const db = createDatabase(server);
  const url = server.url(db);
  const hubKey = randomBytes(32);
  const node1 = await openPgStore(t, url, { hubKey });
  const node2 = await openPgStore(t, url, { hubKey, listenRetryMs: 800 });
  // Cut the LISTEN connections (as a network blip would); node 2 waits 800 ms before reconnecting.
  server.sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}' AND application_name = '${LISTENER_APPLICATION_NAME}'`);
  await within(1000, () => !node2.stats.listening, 'node 2 noticed');
  await importCsvAsync(node1, csv('T1,H1,Nhà A,1 Đường A,,,,D1,smoke,'));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(node2.getDevice('D1'), undefined, 'not heard: node 2 was not listening');
  await within(3000, () => node2.getDevice('D1') !== undefined, 'node 2 reloaded when it reconnected');
  assert.equal(node2.stats.listenReconnects, 1);
});
