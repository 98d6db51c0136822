/**
 * Writes docs/asyncapi.yaml from hub/protocol/ (`npm run docs:asyncapi`); `--check` only compares
 * and exits 1 when the file is stale. test/unit/core/asyncapi.unit.test.ts runs the same comparison.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { buildAsyncApi } from '../hub/protocol/asyncapi.ts';

export const ASYNCAPI_PATH = join(import.meta.dirname, '..', 'docs', 'asyncapi.yaml');

const HEADER = '# Generated from hub/protocol/ by `npm run docs:asyncapi`: do not edit by hand.\n';

/** The text of docs/asyncapi.yaml as it must be. */
export function renderAsyncApiYaml(): string {
  return HEADER + stringify(buildAsyncApi(), { aliasDuplicateObjects: false, lineWidth: 0, indent: 2 });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = renderAsyncApiYaml();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(ASYNCAPI_PATH, 'utf8');
    } catch {}
    if (current !== text) {
      console.error('docs/asyncapi.yaml is stale: run `npm run docs:asyncapi`');
      process.exit(1);
    }
  } else {
    writeFileSync(ASYNCAPI_PATH, text);
    console.log(`wrote ${ASYNCAPI_PATH}`);
  }
}
