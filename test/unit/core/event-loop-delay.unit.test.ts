import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLoopDelayMonitor } from '../../../hub/observability/event-loop-delay.ts';
import { MetricsRegistry } from '../../../hub/observability/metrics.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a blocked event loop shows in smokehub_event_loop_delay_seconds for the window it happened in', async () => {
  const metrics = new MetricsRegistry();
  const m = new EventLoopDelayMonitor(metrics, 3_600_000); // windows end when the test says
  try {
    const value = async (q: string) =>
      Number(new RegExp(`^smokehub_event_loop_delay_seconds\\{quantile="${q}"\\} (\\S+)$`, 'm').exec(await metrics.render())?.[1]);
    assert.equal(await value('1'), 0, 'nothing reported before the first window ends');
    await sleep(100);
    const until = performance.now() + 300;
    while (performance.now() < until); // the main thread busy for 300 ms
    await sleep(100);
    m.roll();
    assert.ok((await value('1')) >= 0.25, `max ${await value('1')} s`);
    const count = Number(/^smokehub_event_loop_delay_seconds_count (\S+)$/m.exec(await metrics.render())?.[1]);
    const sum = Number(/^smokehub_event_loop_delay_seconds_sum (\S+)$/m.exec(await metrics.render())?.[1]);
    assert.ok(count > 0 && sum >= 0.25, `a summary: _count ${count}, _sum ${sum} s`);
    assert.ok((await value('0.5')) < 0.25, `p50 ${await value('0.5')} s: one stall, not every turn`);
    await sleep(200);
    m.roll();
    assert.ok((await value('1')) < 0.25, `the next window no longer shows it (${await value('1')} s)`);
  } finally {
    m.stop();
  }
});
