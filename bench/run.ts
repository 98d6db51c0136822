/**
 * `npm run bench`: every benchmark in turn; each prints its table and writes bench/results/*.json.
 * BENCH_ONLY=hub|durability|telemetry|slow-consumer|sms|tls|login|storm|http|zigbee|cluster runs one.
 */
const only = process.env.BENCH_ONLY;
const benches: Array<[string, () => Promise<unknown>]> = [
  ['hub', async () => (await import('./hub-fanout.ts')).run()],
  ['durability', async () => (await import('./journal-durability.ts')).run()],
  ['telemetry', async () => (await import('./telemetry-ingest.ts')).run()],
  ['slow-consumer', async () => (await import('./slow-consumer.ts')).run()],
  ['sms', async () => (await import('./sms-ladder.ts')).run()],
  ['tls', async () => (await import('./tls.ts')).run()],
  ['login', async () => (await import('./login-guessing.ts')).run()],
  ['storm', async () => (await import('./reconnect-storm.ts')).run()],
  ['http', async () => (await import('./http-api.ts')).run()],
  ['zigbee', async () => (await import('./zigbee-load.ts')).run()],
  ['cluster', async () => (await import('./cluster-fanout.ts')).run()],
];
for (const [name, run] of benches) {
  if (only && only !== name) continue;
  console.log(`\n=== bench: ${name}`);
  await run();
}
process.exit(0);
