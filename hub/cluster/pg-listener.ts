/**
 * A dedicated LISTEN connection that comes back: PostgreSQL restarted, the network cut, or the
 * server unreachable at start, it reconnects with a capped backoff and LISTENs again. While it was
 * away notifications may have been missed, so every (re)connection calls `onConnected`, which the
 * registry answers by reloading. A heartbeat (`SELECT 1` every `heartbeatMs`) notices a connection
 * that died without a reset (a cut cable), since a LISTEN connection is otherwise silent.
 */
import pg from 'pg';

/** How the LISTEN connections show in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = 'smokehub-listen';

export interface PgListenerOptions {
  url: string;
  channel: string;
  onNotify(payload: string): void;
  /** Called after each successful LISTEN (the first one included). */
  onConnected(): void;
  onError?(err: Error): void;
  /** First retry delay (ms), doubled up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
  heartbeatMs?: number;
}

export class PgListener {
  private readonly opts: PgListenerOptions;
  private client: pg.Client | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private delay: number;
  private stopped = false;
  private connecting = false;
  /** Connections made after the first (the reconnects). */
  reconnects = 0;
  private connectedOnce = false;

  constructor(opts: PgListenerOptions) {
    if (!/^[a-z_][a-z0-9_]*$/.test(opts.channel)) throw new Error(`bad channel name ${opts.channel}`);
    this.opts = opts;
    this.delay = opts.retryMs ?? 100;
  }

  get connected(): boolean {
    return this.client !== null && !this.connecting;
  }

  /** Connects (resolves once listening, or after the first failure: it keeps retrying in the background). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped || this.client || this.connecting) return;
    this.connecting = true;
    const client = new pg.Client({
      connectionString: this.opts.url,
      keepAlive: true,
      connectionTimeoutMillis: 5000,
      application_name: LISTENER_APPLICATION_NAME,
    });
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      this.opts.onError?.(err);
      if (this.client === client) this.client = null;
      this.stopHeartbeat();
      client.removeAllListeners('notification');
      client.end().catch(() => {});
      this.scheduleRetry();
    };
    client.on('error', fail);
    client.on('end', () => fail(new Error('LISTEN connection ended')));
    client.on('notification', (n) => {
      if (n.channel === this.opts.channel) this.opts.onNotify(n.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.opts.channel}`);
    } catch (err) {
      this.connecting = false;
      // An 'error' event may have failed it first, while a retry could not start.
      if (failed) this.scheduleRetry();
      else fail(err as Error);
      return;
    }
    this.connecting = false;
    if (this.stopped) {
      failed = true;
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.delay = this.opts.retryMs ?? 100;
    if (this.connectedOnce) this.reconnects++;
    this.connectedOnce = true;
    this.startHeartbeat(client, fail);
    this.opts.onConnected();
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, this.opts.maxRetryMs ?? 2000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, wait);
    this.retryTimer.unref();
  }

  private startHeartbeat(client: pg.Client, fail: (err: Error) => void): void {
    const every = this.opts.heartbeatMs ?? 5000;
    this.heartbeat = setInterval(() => {
      const timeout = setTimeout(() => fail(new Error('LISTEN connection heartbeat timed out')), every);
      client.query('SELECT 1').then(
        () => clearTimeout(timeout),
        (err: Error) => {
          clearTimeout(timeout);
          fail(err);
        },
      );
    }, every);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopHeartbeat();
    const c = this.client;
    this.client = null;
    if (c) {
      c.removeAllListeners('end');
      c.removeAllListeners('error');
      c.on('error', () => {});
      await c.end().catch(() => {});
    }
  }
}
