/**
 * Error codes both ways (as fastify checks its own): every code in ERROR_CODES is documented in
 * docs/errors.md and used by the hub or the bridge; every documented code exists; no error code is
 * sent as a bare string literal past ERROR_CODES.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../../../hub/protocol/errors.ts';

const root = join(import.meta.dirname, '..', '..', '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

const files = [...sources(join(root, 'hub')), ...sources(join(root, 'firmware-bridge'))];
const text = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));

test('every code in ERROR_CODES is documented, and every documented code exists', () => {
  const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]!));
  const codes = new Set<string>(Object.values(ERROR_CODES));
  assert.deepEqual(
    [...codes].filter((c) => !documented.has(c)),
    [],
    'in ERROR_CODES, missing from docs/errors.md',
  );
  assert.deepEqual(
    [...documented].filter((c) => !codes.has(c)),
    [],
    'in docs/errors.md, not in ERROR_CODES',
  );
});

test('every code in ERROR_CODES is used by the hub or the bridge', () => {
  const unused = Object.keys(ERROR_CODES).filter((key) => {
    const use = new RegExp(`ERROR_CODES\\.${key}\\b`);
    return ![...text.values()].some((t) => use.test(t));
  });
  assert.deepEqual(unused, []);
});

test('no error code is sent as a bare string (error bodies and issues go through ERROR_CODES)', () => {
  const bare: string[] = [];
  for (const [f, t] of text) {
    for (const m of t.matchAll(/\b(?:error|code): '([a-z_]+)'/g)) {
      const line = t.slice(0, m.index).split('\n').length;
      if ((Object.values(ERROR_CODES) as string[]).includes(m[1]!)) bare.push(`${f.slice(root.length + 1)}:${line} ${m[0]}`);
    }
  }
  assert.deepEqual(bare, []);
});
