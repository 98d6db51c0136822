import { test } from 'node:test';
import assert from 'node:assert/strict';
import { distanceM, householdsNear } from '../../../hub/core/geo.ts';

test('distances: 1/1000 degree of latitude is about 111 m; 1° of longitude at 21° N about 104 km', () => {
  assert.ok(Math.abs(distanceM(20.95, 107.08, 20.951, 107.08) - 111.2) < 0.5);
  assert.ok(Math.abs(distanceM(21, 107, 21, 108) - 103_800) < 500);
});

test('households of other teams within the radius, nearest first; no coordinates, no neighbours', () => {
  const origin = { id: 'a', team: 't1', lat: 20.95, lon: 107.08 };
  const all = [
    origin,
    { id: 'same-team', team: 't1', lat: 20.95, lon: 107.0801 },
    { id: 'ten-metres', team: 't2', lat: 20.95009, lon: 107.08 },
    { id: 'forty-metres', team: 't3', lat: 20.95036, lon: 107.08 },
    { id: 'sixty-metres', team: 't2', lat: 20.95054, lon: 107.08 },
    { id: 'unknown', team: 't2', lat: null, lon: null },
  ];
  assert.deepEqual(householdsNear(origin, all, 50), ['ten-metres', 'forty-metres']);
  assert.deepEqual(householdsNear(origin, all, 0), []);
  assert.deepEqual(householdsNear({ ...origin, lat: null }, all, 50), []);
});
