/** Baseline: plain Aedes (no auth, no hooks, TCP_NODELAY), same version, for ratios in the same run. */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const broker = await Aedes.createBroker({ maxClientsIdLength: 64, concurrency: 200 });
const server = createServer({ noDelay: true }, (s) => broker.handle(s));
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(JSON.stringify({ mqttPort: typeof a === 'object' && a ? a.port : 0 }) + '\n');
});
process.on('SIGTERM', () => server.close(() => broker.close(() => process.exit(0))));
