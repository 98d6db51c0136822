/**
 * The Aedes internals the hub relies on (broker/aedes-internals.ts) are there, on a real Aedes
 * broker and a real connected client: an Aedes upgrade that changes them fails here, not silently
 * in production (where the size guard, the ingress scheduler or the slow-client guard would be off).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { Aedes, type Client } from 'aedes';
import mqtt from 'mqtt';
import { deliveryHooksOf, missingInternals, parserOf, readLoopOf, startPublishCounterAt } from '../../../hub/broker/aedes-internals.ts';

test("Aedes' internals are as the hub expects, on a real broker and client", async (t) => {
  const broker = await Aedes.createBroker();
  const server = createServer((s) => broker.handle(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let c: mqtt.MqttClient | null = null;
  t.after(async () => {
    await c?.endAsync(true);
    await new Promise<void>((r) => broker.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });
  const joined = new Promise<Client>((r) => broker.once('client', r));
  c = await mqtt.connectAsync(`mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`, { clientId: 'probe', reconnectPeriod: 0 });
  const client = await joined;
  assert.deepEqual(missingInternals(broker, client), []);
  assert.ok(parserOf(client), 'parser');
  const loop = readLoopOf(client);
  assert.ok(loop, 'read loop');
  assert.equal(loop.parser.listeners('packet').length, 1, "one 'packet' listener: Aedes' handler");
  assert.ok(loop.stream.listeners('readable').includes(loop.nextBatch), "the stream's 'readable' listener is Aedes' read step");
  // Aedes sets connackSent in its write callback, which may run just after the client read the CONNACK.
  for (let i = 0; i < 100 && !loop.connackSent(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(loop.connackSent(), true);
  assert.equal(loop.closed(), false);
  const hooks = deliveryHooksOf(client);
  assert.ok(hooks, 'delivery hooks');
  assert.equal(hooks.clean(), true);
  assert.ok(startPublishCounterAt(broker, 42_000), 'the publish counter');
  assert.equal((broker as unknown as { counter: number }).counter, 42_000);
  // And on something else: nothing.
  assert.deepEqual(readLoopOf({} as Client), null);
  assert.deepEqual(deliveryHooksOf({} as Client), null);
  assert.ok(missingInternals(broker, {} as Client).length > 5);
});
