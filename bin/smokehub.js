#!/usr/bin/env node
// The `smokehub` command: runs the compiled hub CLI (dist/, built by `npm install` / `npm run build`).
import { existsSync } from 'node:fs';

const main = new URL('../dist/hub/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('smokehub: the compiled hub (dist/hub/cli/main.js) is missing: run npm install (it builds) first\n');
  process.exit(1);
}
const { runCli } = await import(main.href);
await runCli(process.argv.slice(2));
