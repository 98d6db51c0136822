import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqttPacket from 'mqtt-packet';
import { PacketSizeGuard } from '../../../hub/broker/packet-size-guard.ts';

const pub = (bytes: number) => mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(bytes), qos: 0, retain: false, dup: false } as any);

test('packets within the limit pass, split at any byte boundary', () => {
  const stream = Buffer.concat([pub(10), pub(200), pub(1000), mqttPacket.generate({ cmd: 'pingreq' } as any)]);
  for (const step of [1, 2, 3, 7, 64, stream.length]) {
    const g = new PacketSizeGuard(2048);
    for (let i = 0; i < stream.length; i += step) assert.equal(g.feed(stream.subarray(i, i + step)), null, `step ${step}`);
  }
});

test('an oversize packet is refused from its header alone', () => {
  const g = new PacketSizeGuard(2048);
  const big = pub(100_000);
  assert.match(g.feed(big.subarray(0, 5)) ?? '', /exceeds the 2048-byte limit/);
});

test('a remaining length longer than 4 bytes is malformed', () => {
  const g = new PacketSizeGuard(1 << 30);
  assert.equal(g.feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])), 'malformed remaining length');
});
