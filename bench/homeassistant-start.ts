/**
 * Home Assistant discovery at scale (docs/home-assistant.md, "Cost"): a real hub in this process
 * with BENCH_HOUSEHOLDS households (default 16,000), each with a household user and a smoke
 * detector that reported its battery; measures the time to publish every household's retained
 * discovery (what a start with --homeassistant does), the retained messages it adds, the longest
 * event-loop stall meanwhile, RSS, and the time one HA's wildcard SUBSCRIBE to its prefix takes
 * to be answered with its retained configs (the session store scans every retained topic).
 *
 * Users are written straight into the table with a placeholder hash (scrypt for 16,000 users
 * would take minutes and is not what is measured).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startTestHub } from '../test/helpers/hub-harness.ts';
import { homeassistantExtension } from '../hub/homeassistant/homeassistant-extension.ts';
import { printTable, round, rssKiB } from './lib/stats.ts';

const rss = () => rssKiB(process.pid);

const HOUSEHOLDS = Number(process.env.BENCH_HOUSEHOLDS ?? 16_000);
const TEAM_SIZE = 10;

function csv(): string {
  const rows = ['team,household,name,address,phone,lat,lon,device,kind,secret'];
  for (let h = 0; h < HOUSEHOLDS; h++) {
    const lat = (20.9 + (h % 400) * 0.0005).toFixed(6);
    const lon = (107.0 + Math.floor(h / 400) * 0.0005).toFixed(6);
    rows.push(`T${Math.floor(h / TEAM_SIZE)},H${h},Nhà H${h},${h} Lê Lợi,0900000000,${lat},${lon},H${h}-smoke,smoke,`);
  }
  return `${rows.join('\n')}\n`;
}

export async function run(): Promise<unknown> {
  const ext = homeassistantExtension({ rescanMs: 3_600_000 });
  const th = await startTestHub({ csv: csv(), extensions: [ext], config: { homeassistant: true } });
  try {
    await ext.ready;
    const db = th.hub.ctx.db;
    const insert = db.prepare(
      "INSERT INTO users (username, role, team, household, password_hash, created_at) VALUES (?, 'household', ?, ?, 'bench-no-login', ?)",
    );
    // The worst case: every household has a user AND its HA announced itself (a birth message).
    const announce = db.prepare('INSERT INTO homeassistant_households (household, announced_at) VALUES (?, ?)');
    db.transaction(() => {
      for (let h = 0; h < HOUSEHOLDS; h++) insert.run(`ha-H${h}`, `T${Math.floor(h / TEAM_SIZE)}`, `H${h}`, Date.now());
      for (let h = 0; h < HOUSEHOLDS; h++) announce.run(`H${h}`, Date.now());
    })();
    th.hub.registry.invalidate();
    const handle = ext.handle!;
    for (let h = 0; h < HOUSEHOLDS; h++) handle.onBattery(`H${h}`, `H${h}-smoke`, 80 + (h % 20), Date.now());

    const rssBefore = rss();
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const t0 = performance.now();
    await handle.rescan();
    const publishMs = performance.now() - t0;
    loop.disable();
    const metrics = await th.hub.ctx.metrics.registry.getSingleMetricAsString('smokehub_homeassistant_published_total');
    const published = metrics
      .split('\n')
      .filter((l) => l.includes('outcome="ok"'))
      .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);

    // One HA subscribing to its whole prefix: how long until its retained configs arrive.
    const client = await mqtt.connectAsync(th.mqttUrl, { clientId: 'bench-admin', username: 'admin', password: th.adminPassword, reconnectPeriod: 0 });
    let got = 0;
    const want = 7; // 5 configs, availability, state (+ battery config and state)
    const t1 = performance.now();
    const done = new Promise<void>((resolve) =>
      client.on('message', () => {
        if (++got === want) resolve();
      }),
    );
    await client.subscribeAsync(`smokehub/h/H${HOUSEHOLDS - 1}/homeassistant/#`, { qos: 1 });
    await done;
    const subscribeMs = performance.now() - t1;
    await client.endAsync();

    const result = {
      households: HOUSEHOLDS,
      retainedPublished: published,
      perHousehold: round(published / HOUSEHOLDS, 1),
      publishSeconds: round(publishMs / 1000, 2),
      maxLoopStallMs: round(loop.max / 1e6, 1),
      p99LoopDelayMs: round(loop.percentile(99) / 1e6, 1),
      rssGrowthMiB: round((rss() - rssBefore) / 1024, 1),
      wildcardSubscribeMs: round(subscribeMs, 1),
    };
    printTable('Home Assistant discovery for every household', [result]);
    writeFileSync(join(import.meta.dirname, 'results', 'homeassistant-start.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    await th.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
  process.exit(0);
}
