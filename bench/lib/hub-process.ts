/**
 * The hub in its own process for benchmarks (test/helpers/hub-child.ts: config from SMOKEHUB_* env,
 * HUB_CHILD_* switches), and the shared end of every benchmark: results file, exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';

export interface HubProcess {
  child: ChildProcess;
  mqttPort: number;
  httpPort: number;
  /** The generated password of `admin` (station) on a fresh data dir, else null. */
  adminPassword: string | null;
}

/**
 * Runs from the TypeScript sources (dist/ may be stale); BENCH_HUB=dist uses the compiled tree.
 * BENCH_PROFILE=DIR writes a CPU profile of the hub there when it exits.
 */
function hubCommand(): string[] {
  const prof = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  return process.env.BENCH_HUB === 'dist' && existsSync('dist/test/helpers/hub-child.js')
    ? [...prof, 'dist/test/helpers/hub-child.js']
    : [...prof, '--import', 'tsx', 'test/helpers/hub-child.ts'];
}

/**
 * Starts the hub on `dataDir` as the benchmarks run it (127.0.0.1, free ports, no verify window, no
 * escalation during the run, no logs), `env` added; resolves once it listens. `stderr`: a file
 * descriptor for the hub's stderr (its log with HUB_CHILD_LOG_LEVEL), else the bench's own.
 */
export function startHubProcess(dataDir: string, env: Record<string, string> = {}, stderr?: number): Promise<HubProcess> {
  const benchEnv = {
    SMOKEHUB_DATA: dataDir,
    SMOKEHUB_HOST: '127.0.0.1',
    SMOKEHUB_HTTP_PORT: '0',
    SMOKEHUB_MQTT_PORT: '0',
    SMOKEHUB_VERIFY_WINDOW_S: '0',
    SMOKEHUB_ESCALATE_AFTER_S: '3600',
    SMOKEHUB_LOG_LEVEL: 'silent',
  };
  const child = spawn(process.execPath, hubCommand(), { env: { ...process.env, ...benchEnv, ...env }, stdio: ['ignore', 'pipe', stderr ?? 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (l) =>
      resolve({ child, ...(JSON.parse(l) as { mqttPort: number; httpPort: number; adminPassword: string | null }) }),
    );
    child.once('exit', (c) => reject(new Error(`hub exited with ${c}`)));
    setTimeout(() => reject(new Error('hub did not start in 60 s')), 60_000).unref();
  });
}

/** SIGTERM (the hub drains and closes its database), SIGKILL after 8 s. */
export async function stopHubProcess(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 8000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

export function writeResults(file: string, out: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
}

/** `node --import tsx bench/X.ts`: runs the benchmark and exits 0, or 1 with the error. */
export function runAsMain(moduleUrl: string, run: () => Promise<unknown>): void {
  if (moduleUrl !== `file://${process.argv[1]}`) return;
  run().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
