/**
 * A stand-in telemetry storage worker (same messages as hub/telemetry/telemetry-worker.ts) for the
 * client's poison-batch rule: a batch holding a reading with smoke = POISON_SMOKE throws an uncaught
 * error (the thread dies, as it would on a point that breaks the store); any other batch is
 * "committed" in memory. Everything else the real worker answers is answered minimally.
 */
import { parentPort } from 'node:worker_threads';
import { expandBatch } from '../../hub/telemetry/point-batch.ts';
import type { FromWorker, ToWorker } from '../../hub/telemetry/worker-protocol.ts';

export const POISON_SMOKE = 666;
let depth = 0;
// Imported by the test for POISON_SMOKE, on the main thread: only the worker thread answers.
if (parentPort) serve(parentPort);

function serve(port: NonNullable<typeof parentPort>): void {
  const send = (m: FromWorker) => port.postMessage(m);
  port.on('message', (m: ToWorker) => {
    if (m.t === 'batch') {
      const points = m.batches.flatMap(expandBatch);
      if (points.some((p) => p.fields.smoke === POISON_SMOKE)) throw new Error('this point breaks the store');
      depth += points.length;
      send({ t: 'committed', seq: m.mark.seq, depth, nearlyFull: false, seconds: 0, size: points.length });
    } else if (m.t === 'flush') send({ t: 'flushed', empty: false, depth });
    else if (m.t === 'stop') {
      send({ t: 'stopped' });
      port.close();
    }
  });
  send({ t: 'ready', up: true, problem: null, mark: null, depth, maxPoints: 1_000_000 });
}
