/** The retained index answers every filter exactly as a scan of all retained messages would. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetainedIndex, type RetainedPacket } from '../../../hub/broker/retained-index.ts';
import { filterMatches } from '../../../hub/protocol/topics.ts';

/** A small deterministic generator (no Math.random: the same cases every run). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const LEVELS = [
  ['smokehub', 'other'],
  ['h', 'station', 'x'],
  ['H1', 'H2', 'H3'],
  ['alarms', 'd', 'z2m', 'homeassistant'],
  ['D1', 'status', 'bridge', 'kitchen'],
  ['status', 'state', 'availability'],
];

function topic(r: () => number): string {
  const n = 1 + Math.floor(r() * LEVELS.length);
  return LEVELS.slice(0, n)
    .map((opts) => opts[Math.floor(r() * opts.length)])
    .join('/');
}

function filter(r: () => number): string {
  const levels = topic(r).split('/');
  const out = levels.map((l) => (r() < 0.2 ? '+' : l));
  if (r() < 0.3) out.splice(Math.floor(r() * out.length) + 1, out.length, '#');
  return out.join('/');
}

test('matching() equals a brute-force scan for random topics, filters, updates and deletions', () => {
  const r = rng(42);
  const index = new RetainedIndex();
  const brute = new Map<string, RetainedPacket>();
  for (let round = 0; round < 2000; round++) {
    const t = topic(r);
    if (r() < 0.25) {
      index.delete(t);
      brute.delete(t);
    } else {
      const p = { topic: t, payload: Buffer.from(String(round)) };
      index.set(p);
      brute.set(t, p);
    }
    if (round % 10 === 0) {
      const filters = [filter(r), filter(r)];
      const got = [...index.matching(filters)].map((p) => `${p.topic}=${p.payload}`).sort();
      const want = filters
        .flatMap((f) => [...brute.values()].filter((p) => (f.includes('+') || f.includes('#') ? filterMatches(f, p.topic) : p.topic === f)))
        .map((p) => `${p.topic}=${p.payload}`)
        .sort();
      assert.deepEqual(got, want, `filters ${filters.join(' , ')}`);
    }
  }
  assert.equal(index.size, brute.size);
});

test('a household filter sees only its own household; the parent level matches #', () => {
  const index = new RetainedIndex();
  for (const t of ['smokehub/h/H1/alarms', 'smokehub/h/H1', 'smokehub/h/H2/alarms', 'smokehub/h/H1/z2m/bridge/state', 'smokehub/station/alarms'])
    index.set({ topic: t, payload: Buffer.from('x') });
  assert.deepEqual([...index.matching(['smokehub/h/H1/#'])].map((p) => p.topic).sort(), [
    'smokehub/h/H1',
    'smokehub/h/H1/alarms',
    'smokehub/h/H1/z2m/bridge/state',
  ]);
  assert.deepEqual([...index.matching(['smokehub/h/+/alarms'])].map((p) => p.topic).sort(), ['smokehub/h/H1/alarms', 'smokehub/h/H2/alarms']);
  assert.deepEqual([...index.matching(['smokehub/h/H3/#'])], []);
  index.delete('smokehub/h/H1/alarms');
  assert.deepEqual([...index.matching(['smokehub/h/H1/+'])], []);
});
