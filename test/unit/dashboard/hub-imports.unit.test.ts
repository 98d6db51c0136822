/**
 * The dashboard imports nothing of the hub but its contract (hub/protocol/), and that contract is
 * browser-safe (no node: modules): the browser bundle cannot pull in the hub's server code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : /\.tsx?$/.test(n) ? [p] : [];
  });
}
const importsOf = (file: string) => [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)[^'"]*from\s+'([^']+)'/gm)].map((m) => m[1]!);

test('the dashboard imports only hub/protocol of the hub', () => {
  const bad: string[] = [];
  for (const f of files('dashboard/src')) {
    for (const spec of importsOf(f)) {
      if (!spec.startsWith('.')) continue;
      const target = relative('.', resolve(dirname(f), spec));
      if (target.startsWith('hub/') && !target.startsWith('hub/protocol/')) bad.push(`${f} → ${target}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('hub/protocol is browser-safe: no node: modules, no imports out of it', () => {
  const bad: string[] = [];
  for (const f of files('hub/protocol')) {
    for (const spec of importsOf(f)) {
      if (spec.startsWith('node:')) bad.push(`${f} → ${spec}`);
      else if (spec.startsWith('.') && !relative('.', resolve(dirname(f), spec)).startsWith('hub/protocol/')) bad.push(`${f} → ${spec}`);
      else if (!spec.startsWith('.') && spec !== 'typebox' && !spec.startsWith('typebox/')) bad.push(`${f} → ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});
