import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hubConnectTarget, splitHubUrls } from '../../../firmware-bridge/hub-urls.ts';
import { loadBridgeValues } from '../../../firmware-bridge/bridge-config.ts';

test('one hub URL is passed as it is', () => {
  assert.deepEqual(hubConnectTarget('mqtt://10.0.0.11:1883'), { url: 'mqtt://10.0.0.11:1883', options: {} });
});

test('several hub URLs become MQTT.js servers, in order, with default ports', () => {
  assert.deepEqual(splitHubUrls(' mqtt://a:1883, ,mqtt://b '), ['mqtt://a:1883', 'mqtt://b']);
  const t = hubConnectTarget('mqtts://10.0.0.11:8883,mqtts://10.0.0.12,mqtts://[::1]:9883');
  assert.equal(t.url, 'mqtts://10.0.0.11:8883');
  assert.deepEqual(t.options.servers, [
    { host: '10.0.0.11', port: 8883, protocol: 'mqtts' },
    { host: '10.0.0.12', port: 8883, protocol: 'mqtts' },
    { host: '::1', port: 9883, protocol: 'mqtts' },
  ]);
});

test('hub URLs of different schemes or paths are refused', () => {
  assert.throws(() => hubConnectTarget('mqtt://a,mqtts://b'), /every hub URL must use mqtt:/);
  assert.throws(() => hubConnectTarget('ws://a/mqtt,ws://b/other'), /path \/mqtt/);
});

test('--hub takes several URLs; a bad one among them is named', () => {
  const v = loadBridgeValues({ flags: { hub: 'mqtt://10.0.0.11:1883, mqtt://10.0.0.12:1883' }, env: {} });
  assert.equal(v.hub, 'mqtt://10.0.0.11:1883,mqtt://10.0.0.12:1883');
  assert.throws(() => loadBridgeValues({ flags: { hub: 'mqtt://10.0.0.11:1883,http://x' }, env: {} }), /hub \(--hub\) must be mqtt:\/\//);
});
