/**
 * What the cluster's MQTT state costs in Redis (hub/cluster/redis-mqtt.ts over a real redis-server):
 * used_memory and keys per persistent session (one QoS 1 subscription), per retained message of
 * a household's `…/alarms` size, and per queued QoS 1 message (one alert queued for every absent
 * session, and ten alerts per session). Run: node --import tsx bench/cluster-redis-memory.ts [sessions]
 */
import { Aedes } from 'aedes';
import { startRedis } from '../test/helpers/redis-server.ts';
import { RedisMqtt } from '../hub/cluster/redis-mqtt.ts';
import { silentLogger } from '../hub/observability/logger.ts';

const N = Number(process.argv[2] ?? 2000);
const redis = await startRedis();
const shared = await RedisMqtt.open({ url: redis.url, nodeId: 'bench', logger: silentLogger() });
const aedes = await Aedes.createBroker({ id: 'bench', mq: shared.mq, persistence: shared.persistence });
const r = shared.connection();
const p = shared.persistence as unknown as {
  addSubscriptions(c: { id: string }, subs: Array<{ topic: string; qos: number }>): Promise<void>;
};
const publish = (topic: string, payload: string, qos: 0 | 1, retain: boolean) =>
  new Promise<void>((resolve, reject) =>
    aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain, dup: false }, (err) => (err ? reject(err) : resolve())),
  );
async function snapshot(): Promise<{ mem: number; keys: number }> {
  const info = await r.info('memory');
  return { mem: Number(/used_memory:(\d+)/.exec(info)![1]), keys: await r.dbsize() };
}
function report(what: string, a: { mem: number; keys: number }, b: { mem: number; keys: number }, per: number): void {
  console.log(`${what}: ${((b.mem - a.mem) / per).toFixed(0)} bytes and ${((b.keys - a.keys) / per).toFixed(2)} keys each (${per})`);
}

try {
  const alert = JSON.stringify({ alarm: 'Amabc1234ef56', household: 't1-h1', state: 'active', kind: 'smoke', since: Date.now(), nearby: true });
  const state = JSON.stringify({ household: 't1-h1', at: Date.now(), alarms: [JSON.parse(alert)] });
  let a = await snapshot();
  for (let i = 0; i < N; i++) await p.addSubscriptions({ id: `t1-h${i}-smoke` }, [{ topic: `smokehub/h/t1-h${i}/alert`, qos: 1 }]);
  let b = await snapshot();
  report('persistent session with one QoS 1 subscription', a, b, N);
  a = b;
  for (let i = 0; i < N; i++) await publish(`smokehub/h/t1-h${i}/alarms`, state.replace('t1-h1', `t1-h${i}`), 1, true);
  b = await snapshot();
  report(`retained message (${state.length}-byte payload)`, a, b, N);
  // One session subscribed to a wildcard of everybody's alerts would make one alert reach all: here each
  // alert goes to its own household's absent session.
  a = b;
  for (let i = 0; i < N; i++) await publish(`smokehub/h/t1-h${i}/alert`, alert, 1, false);
  b = await snapshot();
  report(`queued QoS 1 message, one per absent session (${alert.length}-byte payload)`, a, b, N);
  a = b;
  for (let k = 0; k < 9; k++) for (let i = 0; i < N; i++) await publish(`smokehub/h/t1-h${i}/alert`, alert, 1, false);
  b = await snapshot();
  report('further queued QoS 1 messages (10 per absent session)', a, b, 9 * N);
  const lists = await r.llen('outgoing:t1-h0-smoke');
  console.log(`queue of one absent session: ${lists} entries`);
  for (let k = 0; k < 150; k++) await publish('smokehub/h/t1-h0/alert', alert, 1, false);
  console.log(`after 150 more to it: ${await r.llen('outgoing:t1-h0-smoke')} entries (bounded at 100)`);
} finally {
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
  await shared.close();
  await redis.stop();
}
