/** docs/grafana/smokehub-influxdb.json draws what docs/telemetry.md says: per field, the mean with the min and the max. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

interface Target {
  refId: string;
  alias?: string;
  query: string;
}
interface Panel {
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
}

const FIELDS = ['smoke', 'temperature', 'humidity', 'co', 'battery', 'rssi'];

test('every telemetry panel has the mean, min and max series of its field (raw and 5-minute rollup alike), as the doc says', () => {
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'docs/grafana/smokehub-influxdb.json'), 'utf8')) as { panels: Panel[] };
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type === 'timeseries');
  const seen = { raw: new Set<string>(), rollup: new Set<string>() };
  for (const p of panels) {
    const targets = p.targets ?? [];
    assert.equal(new Set(targets.map((t) => t.refId)).size, targets.length, `${p.title}: unique refIds`);
    const rollup = targets.some((t) => t.query.includes('"smokehub_rollup"."telemetry_5m"'));
    const aggregates = targets.map((t) => /^SELECT (mean|min|max)\("(\w+)"\)/.exec(t.query)).map((m) => (m ? [m[1]!, m[2]!] : null));
    assert.ok(
      aggregates.every((a) => a !== null),
      `${p.title}: one aggregate per query`,
    );
    const fields = new Set(aggregates.map((a) => a![1].replace(/^(mean|min|max)_/, '')));
    assert.equal(fields.size, 1, `${p.title}: one field`);
    const field = [...fields][0]!;
    assert.ok(FIELDS.includes(field), `${p.title}: ${field}`);
    assert.deepEqual(aggregates.map((a) => a![0]).sort(), ['max', 'mean', 'min'], `${p.title}: mean, min and max`);
    if (rollup) {
      // The rollup's fields: the continuous query's mean_F, min_F, max_F, each aggregated its own way.
      for (const [fn, stored] of aggregates as Array<[string, string]>) assert.equal(stored, `${fn}_${field}`, `${p.title}: ${fn} of ${fn}_${field}`);
    } else for (const [, stored] of aggregates as Array<[string, string]>) assert.equal(stored, field, p.title);
    const aliases = targets.map((t) => t.alias ?? '');
    assert.equal(new Set(aliases).size, aliases.length, `${p.title}: the series are told apart in the legend`);
    seen[rollup ? 'rollup' : 'raw'].add(field);
  }
  assert.deepEqual([...seen.raw].sort(), [...FIELDS].sort());
  assert.deepEqual([...seen.rollup].sort(), [...FIELDS].sort());
  const doc = readFileSync(join(ROOT, 'docs/telemetry.md'), 'utf8');
  assert.match(doc, /one panel per field\n\(mean with min\/max: three series per device/);
});
