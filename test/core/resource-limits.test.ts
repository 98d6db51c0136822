import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openFilesLimit, openFilesWarning } from '../../hub/app/resource-limits.ts';

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
