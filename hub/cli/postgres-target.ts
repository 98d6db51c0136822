/**
 * The cluster's PostgreSQL as the CLI reaches it (`--postgres URL`, env SMOKEHUB_POSTGRES): the URL
 * checked as the config checks it, a pool whose first connection is made at once with a bounded
 * timeout (an unreachable server is one clear line, never a hang or a stack), and PostgreSQL's
 * own failures turned into typed errors that main.ts prints as one line.
 */
import pg from 'pg';
import { redactUrl } from '../observability/redact-url.ts';
import { CONFIG_SPEC, HUB_KINDS } from '../config/hub-settings.ts';
import { PgUnavailableError, isRetryable } from '../cluster/pg-pool.ts';
import { PG_TYPES } from '../cluster/pg-registry-schema.ts';
import { ERROR_CODES, SmokehubError } from '../protocol/errors.ts';
import { UsageError } from './args.ts';
import type { CliIo } from './command.ts';

export const POSTGRES_ENV = 'SMOKEHUB_POSTGRES';
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** `--postgres`, else the env's; null when neither. A URL that is not postgres:// is a UsageError. */
export function postgresUrl(flag: string | undefined, io: CliIo): string | null {
  const raw = flag ?? io.env[POSTGRES_ENV];
  if (raw === undefined || raw.trim() === '') return null;
  const parsed = HUB_KINDS.postgresUrl!(raw, CONFIG_SPEC.postgres);
  if (typeof parsed !== 'string') throw new UsageError(`--postgres ${parsed.invalid}`);
  return parsed;
}

/** The env the config loader is given: the cluster settings are the CLI's own here (no "--postgres needs --redis"). */
export function configEnv(io: CliIo): Record<string, string | undefined> {
  const { SMOKEHUB_POSTGRES: _p, SMOKEHUB_REDIS: _r, ...rest } = io.env;
  return rest;
}

export { redactUrl };

/** PostgreSQL's failure as a typed error (one line), or the error itself when it is not one. */
export function pgFailure(err: unknown, url: string): unknown {
  if (err instanceof SmokehubError) return err;
  const e = err as { message?: unknown; code?: unknown; severity?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (isRetryable(err)) return new PgUnavailableError(`PostgreSQL at ${redactUrl(url)} is unreachable: ${message}`, err);
  // A server's answer (a DatabaseError: bad password, no such database, no permission, ...).
  if (typeof e?.severity === 'string' && typeof e.code === 'string')
    return new SmokehubError(ERROR_CODES.UNAVAILABLE, `PostgreSQL at ${redactUrl(url)} refused: ${message} (SQLSTATE ${e.code})`);
  return err;
}

/** Runs `fn`, PostgreSQL's failures thrown as typed errors. */
export async function withPgErrors<T>(url: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw pgFailure(err, url);
  }
}

/**
 * A small pool on `url` (BIGINT as numbers), its first connection made now: throws a typed error
 * when PostgreSQL cannot be reached within `connectTimeoutMs`, or refuses.
 */
export async function openCliPool(url: string, connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, types: PG_TYPES, max: 2, connectionTimeoutMillis: connectTimeoutMs, application_name: 'smokehub-cli' });
  pool.on('error', () => {});
  try {
    await withPgErrors(url, async () => {
      await pool.query('SELECT 1');
    });
    return pool;
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
}
