/**
 * Small helpers the composition root uses for its TLS servers (mqtts from the broker, https from
 * http-server.ts): listening on a port, counting and logging failed handshakes (a phone that does
 * not trust the CA yet, a plain MQTT client on the TLS port) without flooding the log, and
 * closing every connection — handshakes in flight too — when the hub stops.
 */
import type { Server as TlsServer } from 'node:tls';
import type { Socket } from 'node:net';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry } from '../observability/metrics.ts';
import { RateLimitedLog } from '../observability/rate-limited-log.ts';

/** Listens and resolves to the port (the chosen one when asked for 0). */
export function listenOn(server: TlsServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}

export interface WatchedTlsServer {
  /** Stops accepting; resolves once every connection is closed. */
  close(): Promise<void>;
  /** Destroys every connection left, handshakes in flight too. */
  destroyAll(): void;
}

/**
 * Counts failed handshakes in `smokehub_tls_handshake_failures_total{server}` and logs them (at
 * most once a minute per server and reason), and tracks raw connections for `close()`.
 */
export function watchTlsServer(server: TlsServer, name: 'mqtts' | 'https', deps: { metrics: MetricsRegistry; logger: Logger; clock: Clock }): WatchedTlsServer {
  const failures = deps.metrics.counter(
    'smokehub_tls_handshake_failures_total',
    'TLS handshakes that failed (client does not trust the certificate, not TLS, timed out), by server',
  );
  const log = new RateLimitedLog(deps.logger.child({ module: 'tls' }), deps.clock, 60_000);
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', (err: Error & { code?: string }, socket) => {
    failures.inc({ server: name });
    const reason = err.code ?? err.message.slice(0, 60);
    log.warn(`${name}|${reason}`, { server: name, ip: socket.remoteAddress, reason: err.message }, 'TLS handshake failed');
  });
  return {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    destroyAll: () => {
      for (const s of sockets) s.destroy();
    },
  };
}
