#!/usr/bin/env node
// smokehub-bridge: runs the compiled bridge CLI (dist/ is built by `npm install` / `npm run build`).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/firmware-bridge/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('smokehub-bridge: dist/ is missing: run npm install (it builds) first\n');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exit(await main(process.argv.slice(2)));
