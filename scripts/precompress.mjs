/**
 * `node scripts/precompress.mjs DIR`: writes FILE.gz (gzip level 9) next to every compressible file
 * of at least 1 KiB in DIR (the built dashboard), so the hub serves them without compressing on
 * each request (a Raspberry Pi's CPU) and with a Content-Length. Run by `npm run build`.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const COMPRESSIBLE = /\.(html|m?js|css|json|map|webmanifest|svg|txt|ttf|wasm)$/i;
const MIN_BYTES = 1024;

/** Writes the `.gz` files under `dir` (also used by the browser tests after they rebuild the dashboard). */
export function precompress(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) precompress(path);
    else if (COMPRESSIBLE.test(name) && st.size >= MIN_BYTES) writeFileSync(path + '.gz', gzipSync(readFileSync(path), { level: 9 }));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node scripts/precompress.mjs DIR');
    process.exit(2);
  }
  precompress(dir);
}
