/** A fresh, empty database on a test PostgreSQL server (one per test file or per test). */
import type { PostgresServer } from './postgres-server.ts';

let n = 0;
export function freshDatabase(server: PostgresServer, prefix = 'smokehub'): string {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${++n}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  server.sql(`CREATE DATABASE ${name}`);
  return server.url(name);
}
