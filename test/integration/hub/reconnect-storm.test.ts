/**
 * What made the reconnect storm after a power cut fall off a cliff (bench/reconnect-storm.ts,
 * docs/benchmarks.md), guarded with a bounded storm against a real hub:
 *  - the MQTT port's accept queue: Node's default 511 overflowed under 18,000 reconnecting devices
 *    and each dropped handshake cost the device TCP's SYN retransmissions (1, 3, 7 … s);
 *  - the per-CONNECT work in the session store: Aedes cleans a clean session's subscriptions, QoS 2
 *    entries and will, and reads its queue, at each connect and disconnect — four LevelDB iterators
 *    or reads that find nothing for a device, now answered from memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { startTestHub, neighbourhoodCsv } from '../../helpers/hub-harness.ts';
import { LISTEN_BACKLOG } from '../../../hub/broker/mqtt-broker.ts';

/** A device that connects (clean session), subscribes to its household's alert topic and stays. */
function device(port: number, id: string, secret: string, household: string, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress });
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const timer = setTimeout(() => reject(new Error(`${id}: no SUBACK in 60 s`)), 60_000);
    parser.on('packet', (p) => {
      if (p.cmd === 'connack') {
        if ((p as mqttPacket.IConnackPacket).returnCode !== 0) reject(new Error(`${id}: CONNACK ${(p as mqttPacket.IConnackPacket).returnCode}`));
        else s.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `smokehub/h/${household}/alert`, qos: 1 }] }));
      } else if (p.cmd === 'suback') {
        clearTimeout(timer);
        resolve(s);
      }
    });
    s.on('data', (b) => parser.parse(b));
    s.on('error', reject);
    s.on('connect', () =>
      s.write(
        mqttPacket.generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          keepalive: 0,
          clientId: id,
          username: id,
          password: Buffer.from(secret),
        }),
      ),
    );
  });
}

test("the MQTT port's accept queue holds a storm: far beyond Node's default of 511", async (t) => {
  const th = await startTestHub();
  t.after(() => th.stop());
  const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  // ss shows a listening socket's accept queue bound as Send-Q.
  const line = execFileSync('ss', ['-ltnH', `sport = :${th.hub.mqttPort}`], { encoding: 'utf8' }).trim();
  const backlog = Number(line.split(/\s+/)[2]);
  assert.equal(backlog, Math.min(LISTEN_BACKLOG, somaxconn), `ss: ${line}`);
  assert.ok(backlog > 511);
});

test('2,000 devices connecting at once: no session-store read or scan per clean connect or disconnect', { timeout: 120_000 }, async (t) => {
  const th = await startTestHub({ csv: neighbourhoodCsv(100, 10) });
  t.after(() => th.stop());
  // Count what reaches LevelDB (the Level instance under aedes-persistence-level).
  const db = (th.hub.ctx.mqtt as unknown as { sessions: { db: Record<string, (...a: unknown[]) => unknown> } }).sessions.db;
  const reads: Record<string, number> = {};
  for (const m of ['get', 'getMany', 'iterator', 'keys', 'values', 'clear']) {
    const orig = db[m]!.bind(db);
    db[m] = (...a: unknown[]) => {
      reads[m] = (reads[m] ?? 0) + 1;
      return orig(...a);
    };
  }
  const sockets: Socket[] = [];
  t.after(() => sockets.forEach((s) => s.destroy()));
  const devices = th.credentials;
  assert.equal(devices.length, 2000);
  await Promise.all(devices.map(async (d, i) => sockets.push(await device(th.hub.mqttPort, d.device, d.secret, d.household, `127.0.3.${(i % 4) + 1}`))));
  assert.equal(th.hub.ctx.registry.listDevices().length, 2000);
  const presence = (th.hub.ctx.mqtt as unknown as { presence: { connectedCount(): number } }).presence;
  assert.equal(presence.connectedCount(), 2000, 'every device connected and subscribed');
  for (const s of sockets) s.destroy();
  const end = Date.now() + 30_000;
  while (presence.connectedCount() > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  assert.equal(presence.connectedCount(), 0);
  // Before: cleanSubscriptions (a scan), cleanIncoming (a range clear), delWill (a read) and the
  // queue (a scan) at each connect, and cleanIncoming + delWill at each disconnect: ~12,000 here.
  assert.deepEqual(reads, {}, `session-store reads for 2,000 clean connects and disconnects: ${JSON.stringify(reads)}`);
});
