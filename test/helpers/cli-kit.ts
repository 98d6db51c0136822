/** The `smokehub` CLI as a child process (through tsx) on temp data directories: shared by the CLI tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HEADER = 'team,household,name,address,phone,lat,lon,device,kind,secret';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function env(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  for (const k of Object.keys(e)) if (k.startsWith('SMOKEHUB_')) delete e[k];
  return e;
}

/** Runs `smokehub ARGS` (SMOKEHUB_* of this process left out; `extraEnv` added). */
export function cli(args: string[], timeoutMs = 30_000, extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'hub/cli/main.ts', ...args], { cwd: ROOT, env: { ...env(), ...extraEnv } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

export function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const GOOD = [
  HEADER,
  'T1,H1,"Nguyễn Văn An","12 Lê Lợi, Huế",0912 345 678,16.46,107.59,D1,smoke,',
  'T1,H1,"Nguyễn Văn An","12 Lê Lợi, Huế",0912 345 678,16.46,107.59,D2,panic,',
  'T1,H2,Trần Thị Bình,14 Lê Lợi,,,,D3,heat,an-operator-secret-123',
  'T2,H3,Lê Văn Cường,3 Hùng Vương,,,,D4,co,',
].join('\n');

/** Resolves with the child's stdout so far once it matches `re`. */
export function waitFor(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; got: ${out}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d;
      if (re.test(out)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolvePromise(out);
      }
    };
    child.stdout!.on('data', onData);
  });
}

export function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));
}
