/**
 * A hub-like process around the outbound queue, for the kill -9 tests. Env:
 *   QUEUE_DIR   data directory (SQLite file)          QUEUE_LOG  the "modem" log (one line per SMS handed over)
 *   QUEUE_MODE  enqueue: queue QUEUE_N items, print "enqueued", then wait to be killed
 *               send: recover, replay the enqueues (as a restarted hub replays transitions), send all, exit 0
 *   QUEUE_RUN   label written in the log            QUEUE_HANG_AT  (send) after handing the n-th item over, print
 *   QUEUE_DELAY_MS (send) modem time per SMS         "handed <key>" and never confirm it (to be killed there)
 * Prints "recovered <n>" at the start of send mode.
 */
import { appendFileSync, closeSync, fsyncSync, openSync } from 'node:fs';
import { openDatabase } from '../../../hub/store/database.ts';
import { OutboundQueue } from '../../../hub/sms/outbound-queue.ts';

const dir = process.env.QUEUE_DIR!;
const log = process.env.QUEUE_LOG!;
const mode = process.env.QUEUE_MODE!;
const n = Number(process.env.QUEUE_N ?? '20');
const run = process.env.QUEUE_RUN ?? 'run';
const hangAt = process.env.QUEUE_HANG_AT === undefined ? -1 : Number(process.env.QUEUE_HANG_AT);
const delayMs = Number(process.env.QUEUE_DELAY_MS ?? '0');

const db = openDatabase(dir, undefined, { synchronous: 'NORMAL' });
const queue = new OutboundQueue(db);

/** The items an alarm's transitions ask for: the same keys every time they are replayed. */
function enqueueAll(): void {
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    queue.enqueue(
      {
        kind: 'sms',
        to: `+8490100${String(i).padStart(4, '0')}`,
        text: `BÁO CHÁY tin ${i}`,
        priority: i % 3 === 0 ? 0 : 8,
        alarm: 'A1',
        household: `H${i}`,
        dedupeKey: `A1:active:H${i}`,
      },
      now,
    );
  }
}

/** The "modem": the SMS is handed over when its line is on disk. */
function handToModem(key: string): void {
  const fd = openSync(log, 'a');
  try {
    appendFileSync(fd, `${run} ${key}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

if (mode === 'enqueue') {
  enqueueAll();
  process.stdout.write('enqueued\n');
  setInterval(() => {}, 1000); // wait for the kill
} else {
  const { requeued } = queue.recover(Date.now());
  process.stdout.write(`recovered ${requeued}\n`);
  enqueueAll();
  let handed = 0;
  for (;;) {
    const item = queue.next(Date.now());
    if (!item) break;
    handToModem(item.dedupeKey);
    handed++;
    if (handed === hangAt) {
      process.stdout.write(`handed ${item.dedupeKey}\n`);
      setInterval(() => {}, 1000); // never confirmed: killed here
      await new Promise(() => {});
    }
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    queue.markSent(item.id, Date.now(), { mr: handed });
  }
  db.close();
  process.stdout.write('done\n');
}
