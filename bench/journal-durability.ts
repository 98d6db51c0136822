/**
 * Journal durability benchmark: what the alarm path pays for "on disk before it counts".
 *
 * The hub runs in its own process in two modes, measured in the same run:
 *  - `full`: synchronous=FULL, every journal commit fsynced on the event loop (the hub before
 *    hub/store/wal-durability.ts);
 *  - `async` (the hub now): commits fsynced on libuv's thread pool, grouped; the alarm is announced
 *    at once and the device's PUBACK waits for the fsync.
 * For each, BENCH_DURABILITY_SAMPLES alarms (default 200, one team each): origin smoke publish →
 * neighbour's `active` alert (fan-out) and → the origin's PUBACK, first on a quiet disk, then while
 * another process writes and fsyncs 1 MiB chunks to the same disk (what an SD card shared with
 * telemetry, logs or a backup looks like).
 *
 * Writes bench/results/journal-durability.json (BENCH_DURABILITY_RESULTS=FILE).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { alarmSamples as samples, enrolTeams } from './lib/neighbourhood.ts';
import { median, percentile, printTable, round } from './lib/stats.ts';
import { runAsMain, startHubProcess, stopHubProcess, writeResults, type HubProcess } from './lib/hub-process.ts';

const SAMPLES = Number(process.env.BENCH_DURABILITY_SAMPLES ?? 200);
const TEAMS = 2 * SAMPLES; // a fresh team per sample and phase
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const progress = (what: string) => process.stderr.write(`[journal-durability ${new Date().toISOString().slice(11, 19)}] ${what}\n`);

function startHub(dataDir: string, mode: 'full' | 'async'): Promise<HubProcess> {
  return startHubProcess(dataDir, { HUB_CHILD_EXTENSIONS: 'none', HUB_CHILD_JOURNAL_SYNC: mode });
}

/** Another process writing and fsyncing 1 MiB chunks to a file beside the hub's data. */
function startDiskWriter(dir: string): ChildProcess {
  const script = `
    const fs = require('fs'); const fd = fs.openSync(${JSON.stringify(join(dir, 'disk-writer.bin'))}, 'w');
    const buf = require('crypto').randomBytes(1 << 20); let n = 0;
    for (;;) { fs.writeSync(fd, buf, 0, buf.length, (n++ % 64) * buf.length); fs.fsyncSync(fd); }`;
  return spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
}

const figures = (xs: number[]) => ({ p50Ms: round(median(xs), 2), p99Ms: round(percentile(xs, 99), 2), maxMs: round(Math.max(...xs), 2) });

export async function run(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { at: new Date().toISOString(), machine: `${cpus().length} cores, Node ${process.version}`, samplesPerPhase: SAMPLES };
  const rows: Array<Record<string, string | number>> = [];
  for (const mode of ['full', 'async'] as const) {
    const dataDir = mkdtempSync(join(tmpdir(), `smokehub-bench-durability-${mode}-`));
    let hub: ChildProcess | null = null;
    let writer: ChildProcess | null = null;
    try {
      const creds = enrolTeams(dataDir, TEAMS);
      const h = await startHub(dataDir, mode);
      hub = h.child;
      progress(`${mode}: quiet disk`);
      const quiet = await samples(
        h.mqttPort,
        creds,
        Array.from({ length: SAMPLES }, (_, i) => i),
        `${mode}-quiet`,
      );
      progress(`${mode}: busy disk`);
      writer = startDiskWriter(dataDir);
      await sleep(1000);
      const busy = await samples(
        h.mqttPort,
        creds,
        Array.from({ length: SAMPLES }, (_, i) => SAMPLES + i),
        `${mode}-busy`,
      );
      out[mode] = {
        quiet: { fanout: figures(quiet.alert), puback: figures(quiet.puback) },
        busyDisk: { fanout: figures(busy.alert), puback: figures(busy.puback) },
      };
      for (const [phase, r] of [
        ['quiet disk', quiet],
        ['busy disk', busy],
      ] as const) {
        const f = figures(r.alert);
        const p = figures(r.puback);
        rows.push({
          journal: mode === 'full' ? 'fsync on the event loop (before)' : 'fsync off the event loop (now)',
          disk: phase,
          'fan-out p50 / p99 / max (ms)': `${f.p50Ms} / ${f.p99Ms} / ${f.maxMs}`,
          'PUBACK p50 / p99 / max (ms)': `${p.p50Ms} / ${p.p99Ms} / ${p.maxMs}`,
        });
      }
    } finally {
      writer?.kill('SIGKILL');
      await stopHubProcess(hub);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  printTable(`Journal durability — ${SAMPLES} alarms per phase, origin publish → neighbour alert and → origin PUBACK`, rows);
  writeResults(process.env.BENCH_DURABILITY_RESULTS ?? 'bench/results/journal-durability.json', out);
  return out;
}

runAsMain(import.meta.url, run);
