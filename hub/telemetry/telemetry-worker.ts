/**
 * The telemetry storage worker (a `worker_threads` thread): everything that stores telemetry runs
 * here, off the thread that carries alarms — the durable outbox and its writer to InfluxDB, or the
 * embedded SQLite store's inserts and pruning. It has its own SQLite connections.
 *
 * It receives batches from the main thread one at a time, commits each in one transaction together
 * with the batch's mark (so a restarted worker says exactly which hand-off it already holds), and
 * answers `committed`. Metrics and log lines go back to the main thread, which mirrors them.
 * The thread lowers its own scheduling priority (Linux: per thread) so the alarm path gets the CPU
 * first when the machine is busy.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setPriority } from 'node:os';
import type { Logger } from '../observability/logger.ts';
import { ConfigError, ERROR_CODES, SmokehubError } from '../protocol/errors.ts';
import { InfluxTelemetryStore } from './influx-store.ts';
import { Outbox } from './outbox.ts';
import { expandBatch } from './point-batch.ts';
import { SqliteTelemetryStore } from './sqlite-store.ts';
import type { FromWorker, LogLevel, ToWorker, WorkerConfig } from './worker-protocol.ts';

const port = parentPort;
if (!port) throw new Error('telemetry-worker.ts runs as a worker thread');
const config = workerData as WorkerConfig;
let clockOffset = config.clockOffsetMs;
const now = () => Date.now() + clockOffset;

function send(m: FromWorker): void {
  port!.postMessage(m);
}

function logAt(level: LogLevel) {
  return (a: unknown, b?: string) => {
    if (typeof a === 'string') send({ t: 'log', level, obj: {}, msg: a });
    else send({ t: 'log', level, obj: plain(a), msg: b ?? '' });
  };
}
/** A pino-shaped logger whose lines are written by the main thread's logger. */
const log = { debug: logAt('debug'), info: logAt('info'), warn: logAt('warn'), error: logAt('error') } as unknown as Logger;

function plain(o: unknown): Record<string, unknown> {
  if (!o || typeof o !== 'object') return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = v instanceof Error ? v.message : v;
  return out;
}

try {
  setPriority(0, config.niceness);
} catch {
  // Not permitted or not supported: the worker simply runs at the hub's priority.
}

let outbox: Outbox | null = null;
let influx: InfluxTelemetryStore | null = null;
let embedded: SqliteTelemetryStore | null = null;

async function start(): Promise<void> {
  const s = config.store;
  if (s.kind === 'influxdb') {
    const store = new InfluxTelemetryStore({
      target: s.target,
      rawRetentionDays: s.rawRetentionDays,
      rollupRetentionDays: s.rollupRetentionDays,
      requestTimeoutMs: s.requestTimeoutMs,
      now,
    });
    let up = true;
    let problem: string | null = null;
    try {
      await store.start();
    } catch (err) {
      if (err instanceof ConfigError && config.firstStart) {
        send({ t: 'config-error', message: err.message });
        return;
      }
      if (err instanceof SmokehubError && (err.code === ERROR_CODES.UNAVAILABLE || err.code === ERROR_CODES.BAD_CONFIG)) {
        up = false;
        problem = err.message;
      } else throw err;
    }
    const ob = new Outbox({
      dataDir: config.dataDir,
      maxPoints: s.outboxMaxPoints,
      batchSize: s.batchSize,
      lingerMs: s.lingerMs,
      retryMinMs: s.retryMinMs,
      retryMaxMs: s.retryMaxMs,
      logger: log,
      observer: {
        written: (size, seconds) => send({ t: 'written', size, seconds, depth: ob.depth(), nearlyFull: ob.nearlyFull }),
        writeFailed: (reason) => send({ t: 'write-failed', reason, depth: ob.depth() }),
        dropped: (count, priority) => send({ t: 'dropped', count, priority, depth: ob.depth() }),
      },
    });
    outbox = ob;
    influx = store;
    ob.start(store);
    send({ t: 'ready', up, problem, mark: ob.lastMark(), depth: ob.depth(), maxPoints: ob.maxPoints });
  } else {
    const store = new SqliteTelemetryStore({ dataDir: config.dataDir, retentionDays: s.retentionDays, pruneEveryMs: s.pruneEveryMs, now });
    await store.start();
    embedded = store;
    send({ t: 'ready', up: true, problem: null, mark: store.lastMark(), depth: 0, maxPoints: 0 });
  }
}

function commit(m: Extract<ToWorker, { t: 'batch' }>): void {
  const started = process.hrtime.bigint();
  let size = 0;
  try {
    const points = m.batches.length === 1 ? expandBatch(m.batches[0]!) : m.batches.flatMap(expandBatch);
    size = points.length;
    if (outbox) outbox.append(points, m.mark);
    else if (embedded) embedded.writeSync(points, m.mark);
    else throw new Error('telemetry store is not open');
  } catch (err) {
    send({ t: 'commit-failed', seq: m.mark.seq, message: (err as Error).message });
    return;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  send({ t: 'committed', seq: m.mark.seq, depth: outbox?.depth() ?? 0, nearlyFull: outbox?.nearlyFull ?? false, seconds, size });
}

async function stop(graceMs: number): Promise<void> {
  if (outbox) await outbox.close(graceMs);
  outbox = null;
  await embedded?.close();
  embedded = null;
  await influx?.close();
  influx = null;
  send({ t: 'stopped' });
  port!.close();
}

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'batch':
      commit(m);
      break;
    case 'clock':
      clockOffset = m.offsetMs;
      break;
    case 'flush':
      if (!outbox) {
        send({ t: 'flushed', empty: true, depth: 0 });
        break;
      }
      void outbox.flush(m.deadlineMs).then(
        (empty) => send({ t: 'flushed', empty, depth: outbox?.depth() ?? 0 }),
        () => send({ t: 'flushed', empty: false, depth: outbox?.depth() ?? 0 }),
      );
      break;
    case 'stop':
      void stop(m.graceMs);
      break;
  }
});

// A failure to open the store is a crash: the main thread logs it and starts a new worker.
await start();
