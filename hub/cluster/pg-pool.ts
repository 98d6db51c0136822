/**
 * The cluster's PostgreSQL connections: a small wrapper over `pg.Pool`. Every connection has a
 * statement timeout and an idle-in-transaction timeout (a node that froze while holding a team's
 * lock loses its transaction, and the lock, after `idleInTxTimeoutMs`), TCP keep-alive (a node
 * that died is noticed by the server), and int8 columns read as numbers (times are ms since epoch).
 *
 * `withTransaction(fn)` runs `fn` between BEGIN and COMMIT on one connection and retries the whole
 * transaction when it failed for a reason that a new attempt can cure: a serialization failure or a
 * deadlock (the server rolled it back), or a lost or refused connection (the server is restarting,
 * or unreachable). Anything else (a bug, a constraint) is rolled back and thrown as it is. When the
 * attempts are used up, it throws `PgUnavailableError` (code `unavailable`).
 */
import pg from 'pg';
import { ERROR_CODES, SmokehubError } from '../protocol/errors.ts';

export interface PgPoolOptions {
  connectionString: string;
  /** Per statement (default 5000 ms). */
  statementTimeoutMs?: number;
  /** A transaction left idle this long is ended by the server, releasing its locks (default 10000 ms). */
  idleInTxTimeoutMs?: number;
  /** Connection attempt (default 3000 ms). */
  connectTimeoutMs?: number;
  /** Connections (default 10). */
  max?: number;
  /** `application_name`, seen in pg_stat_activity (e.g. the node's name). */
  applicationName?: string;
  /** Attempts of one transaction before it gives up (default 5); `Infinity`: until it commits. */
  attempts?: number;
  /** Wait before the 2nd attempt, doubled up to `retryMaxMs` (defaults 50 and 1000 ms). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Hears connection errors of idle connections (they would otherwise crash the process). */
  onError?: (err: Error) => void;
}

/** What a transaction's body may do. */
export interface PgTx {
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** PostgreSQL could not be reached, or kept failing, within the attempts allowed. */
export class PgUnavailableError extends SmokehubError {
  constructor(message: string, cause?: unknown) {
    super(ERROR_CODES.UNAVAILABLE, message);
    if (cause !== undefined) (this as { cause?: unknown }).cause = cause;
  }
}

/** SQLSTATEs of a lost or refused connection: admin/crash shutdown, cannot connect now, too many connections (and class 08). */
const CONNECTION_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** Serialization failure, deadlock: the server rolled the transaction back. */
const CONFLICT_SQLSTATES = new Set(['40001', '40P01']);
const RETRY_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Whether `err` is about the connection rather than the statement: PostgreSQL restarting or
 * unreachable, a connection that died (its transaction, if any, is rolled back by the server).
 */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof PgUnavailableError) return true;
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (CONNECTION_SQLSTATES.has(code) || code.startsWith('08') || RETRY_ERRNOS.has(code)) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(
    message,
  );
}

/** Whether a new attempt of the whole transaction may succeed where this one failed. */
export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (typeof code === 'string' && CONFLICT_SQLSTATES.has(code)) || isConnectionError(err);
}

const int8 = new pg.TypeOverrides();
int8.setTypeParser(20, (v: string) => Number(v));

export class PgPool {
  readonly pool: pg.Pool;
  private readonly clients = new Set<pg.PoolClient>();
  private closed = false;

  constructor(private readonly o: PgPoolOptions) {
    this.pool = new pg.Pool({
      connectionString: o.connectionString,
      statement_timeout: o.statementTimeoutMs ?? 5000,
      idle_in_transaction_session_timeout: o.idleInTxTimeoutMs ?? 10_000,
      connectionTimeoutMillis: o.connectTimeoutMs ?? 3000,
      max: o.max ?? 10,
      keepAlive: true,
      keepAliveInitialDelayMillis: 5000,
      application_name: o.applicationName ?? 'smokehub',
      types: int8,
    });
    this.pool.on('error', (err) => o.onError?.(err));
    this.pool.on('connect', (c) => {
      this.clients.add(c);
      c.on('end', () => this.clients.delete(c));
      // A connection lost while checked out errors between queries too: never an uncaught exception.
      c.on('error', (err) => o.onError?.(err));
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** One statement outside a transaction (retried like a transaction). */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]> {
    return this.withTransaction(async (tx) => (await tx.query<R>(sql, params)).rows);
  }

  /** Runs `fn` in one transaction, retried as a whole (see the file's comment). `fn` must be safe to run again. */
  async withTransaction<T>(fn: (tx: PgTx) => Promise<T>, opts: { attempts?: number; isoLevel?: 'READ COMMITTED' | 'SERIALIZABLE' } = {}): Promise<T> {
    const attempts = opts.attempts ?? this.o.attempts ?? 5;
    let wait = this.o.retryBaseMs ?? 50;
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      if (this.closed) throw new PgUnavailableError('the PostgreSQL pool is closed', last);
      try {
        return await this.once(fn, opts.isoLevel);
      } catch (err) {
        if (!isRetryable(err)) throw err;
        last = err;
        this.o.onError?.(err as Error);
      }
      if (i + 1 < attempts) {
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, this.o.retryMaxMs ?? 1000);
      }
    }
    throw new PgUnavailableError(`PostgreSQL unavailable: ${(last as Error)?.message ?? String(last)}`, last);
  }

  private async once<T>(fn: (tx: PgTx) => Promise<T>, isoLevel?: string): Promise<T> {
    const client = await this.pool.connect();
    let broken: unknown = null;
    try {
      await client.query(isoLevel ? `BEGIN ISOLATION LEVEL ${isoLevel}` : 'BEGIN');
      const out = await fn({ query: (sql, params) => client.query(sql, params) });
      await client.query('COMMIT');
      return out;
    } catch (err) {
      broken = err;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      // A connection that failed is not given back (it may be half dead).
      client.release(broken !== null && isRetryable(broken) ? (broken as Error) : undefined);
    }
  }

  /** Ends the pool cleanly (waits for checked-out connections to be released). */
  async end(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /**
   * Drops every connection's socket at once, like the process dying (kill -9): the server rolls
   * back their transactions and releases their locks. For tests of a node's death.
   */
  destroy(): void {
    this.closed = true;
    for (const c of this.clients) (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    this.clients.clear();
    void this.pool.end().catch(() => undefined);
  }
}
