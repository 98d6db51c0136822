/**
 * No import cycles in hub/, firmware-bridge/ or the dashboard (type-only imports included): every
 * module can be read and tested from the bottom up. A strongly-connected-components pass over the
 * relative imports of the sources, as madge --circular would report them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

const root = join(import.meta.dirname, '..', '..', '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

/** Strongly connected components with more than one module (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) found.push(comp);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('no import cycles (type-only imports included)', () => {
  const files = ['hub', 'firmware-bridge', join('dashboard', 'src')].flatMap((d) => sources(join(root, d)));
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  const importRe = /^\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm;
  for (const f of files) {
    const deps: string[] = [];
    for (const m of readFileSync(f, 'utf8').matchAll(importRe)) {
      const target = normalize(join(dirname(f), m[1]!));
      if (known.has(target)) deps.push(target);
    }
    graph.set(f, deps);
  }
  assert.ok(graph.size > 100, `read ${graph.size} modules`);
  assert.deepEqual(
    cycles(graph).map((c) => c.map((f) => relative(root, f)).sort()),
    [],
  );
});

test('hub/broker imports nothing from hub/app (it gets its ports at construction: broker/ports.ts)', () => {
  const broker = join(root, 'hub', 'broker');
  const app = join(root, 'hub', 'app');
  const importRe = /^\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm;
  const offending = sources(broker).flatMap((f) =>
    [...readFileSync(f, 'utf8').matchAll(importRe)]
      .map((m) => normalize(join(dirname(f), m[1]!)))
      .filter((target) => target.startsWith(app + sep))
      .map((target) => `${relative(root, f)} → ${relative(root, target)}`),
  );
  assert.deepEqual(offending, []);
});

test('the cycle finder finds a cycle', () => {
  const g = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
  ]);
  assert.deepEqual(
    cycles(g).map((c) => c.sort()),
    [['a', 'b', 'c']],
  );
});
