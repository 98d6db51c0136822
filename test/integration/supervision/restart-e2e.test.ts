/**
 * Start-up behaviour through the real hub: a cron expression node-cron refuses is one clear
 * ConfigError at start; a weekly self-test due while the hub was off runs once at the next start.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../hub/core/clock.ts';
import { ConfigError } from '../../../hub/protocol/errors.ts';
import { startTestHub, neighbourhoodCsv } from '../../helpers/hub-harness.ts';
import { supervisionExtension } from '../../../hub/supervision/supervision-extension.ts';
import { sleep } from '../../helpers/mqtt-clients.ts';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('an impossible schedule stops the hub at start with a clear ConfigError', async () => {
  await assert.rejects(
    startTestHub({ config: { selfTestCron: '0 9 31 2 *' }, extensions: [supervisionExtension()] }),
    (e: unknown) => e instanceof ConfigError && /job "self-test".*"0 9 31 2 \*" is not a valid cron expression/.test(e.message),
  );
});

test('a weekly self-test missed while the hub was off runs once at the next start', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-restart-'));
  dirs.push(dataDir);
  // Saturday 28 Nov 2026, 20:00 local
  const clock = new ManualClock(Date.UTC(2026, 10, 28, 13, 0));
  const config = { selfTestTimeoutS: 1, catchUpDelayS: 0 };
  let ext = supervisionExtension();
  let th = await startTestHub({ dataDir, clock, config, csv: neighbourhoodCsv(1, 2), extensions: [ext] });
  clock.advance(1000);
  assert.equal(ext.handle!.jobs.runs('self-test').length, 0, 'nothing was due yet');
  await th.stop();

  // off over Sunday 09:00; back on Sunday 11:00
  clock.advance(15 * 3600_000);
  ext = supervisionExtension();
  th = await startTestHub({ dataDir, clock, config, csv: neighbourhoodCsv(1, 2), extensions: [ext] });
  try {
    clock.advance(0); // the catch-up timer (delay 0)
    await sleep(50);
    clock.advance(1000); // the answer timeout
    await ext.handle!.jobs.idle('self-test');
    const runs = ext.handle!.jobs.runs('self-test');
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.reason, 'catch-up');
    assert.equal(runs[0]!.outcome, 'ok');
    assert.equal(runs[0]!.scheduledFor, Date.UTC(2026, 10, 29, 2, 0), 'for Sunday 09:00 local');
    assert.deepEqual((runs[0]!.summary as any).expected, 2);
  } finally {
    await th.stop();
  }

  // started again the same day: it does not run a second time
  ext = supervisionExtension();
  th = await startTestHub({ dataDir, clock, config, csv: neighbourhoodCsv(1, 2), extensions: [ext] });
  try {
    clock.advance(5000);
    await sleep(50);
    assert.deepEqual(
      ext.handle!.jobs.runs('self-test').map((r) => r.reason),
      ['catch-up'],
    );
  } finally {
    await th.stop();
  }
});
