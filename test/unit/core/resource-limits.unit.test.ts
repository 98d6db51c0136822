import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptQueueCap, acceptQueueWarning, openFilesLimit, openFilesWarning } from '../../../hub/app/resource-limits.ts';

const SAMPLE = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
`;

test('reads the open-files limit and warns when the devices would not fit', () => {
  const l = openFilesLimit(SAMPLE);
  assert.deepEqual(l, { soft: 1024, hard: 524288 });
  assert.match(openFilesWarning(32000, l) ?? '', /too low for 32000 enrolled devices.*LimitNOFILE=65536/);
  assert.equal(openFilesWarning(100, l), null);
  assert.equal(openFilesWarning(32000, null), null);
  assert.equal(openFilesLimit('nothing here'), null);
  assert.ok(openFilesLimit() === null || openFilesLimit()!.soft > 0, 'this machine answers too');
});

test("warns when the kernel's accept queue cap would drop a reconnect storm's handshakes", () => {
  assert.equal(acceptQueueCap('4096\n'), 4096);
  assert.equal(acceptQueueCap('garbage'), null);
  assert.match(acceptQueueWarning(18_000, 128) ?? '', /caps the MQTT accept queue at 128.*net.core.somaxconn=32768/);
  assert.equal(acceptQueueWarning(18_000, 4096), null, '4,096 holds 18,000 on the bench machine');
  assert.equal(acceptQueueWarning(100, 128), null, 'a small neighbourhood fits');
  assert.equal(acceptQueueWarning(18_000, null), null);
  assert.ok(acceptQueueCap() === null || acceptQueueCap()! > 0, 'this machine answers too');
});
