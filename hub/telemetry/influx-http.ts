/**
 * InfluxDB 1.x over HTTP, the parts node-influx does not do the way smokehub needs: GET /ping (tells
 * "nothing there" from "not InfluxDB 1.x"), POST /write with the caller's keep-alive agent and the
 * lines as they are, and the classification of failures (retrying helps or not, and why).
 */
import type { Agent as HttpAgent } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ConfigError, ERROR_CODES, SmokehubError } from '../protocol/errors.ts';
import type { InfluxTarget } from './influx-target.ts';
import { StoreWriteError } from './telemetry-store.ts';

/** GET /ping: tells "nothing there" (unavailable) from "something that is not InfluxDB 1.x" (config). */
export function pingInflux(t: InfluxTarget, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = (t.protocol === 'https' ? httpsRequest : httpRequest)(
      { host: t.host, port: t.port, path: `${t.path}/ping`, method: 'GET', timeout: timeoutMs },
      (res) => {
        res.resume();
        const version = res.headers['x-influxdb-version'];
        if (res.statusCode === 204 && typeof version === 'string') {
          if (/^v?2\./.test(version)) {
            reject(new ConfigError(`${t.display} is InfluxDB ${version}; smokehub needs the InfluxDB 1.x HTTP API`));
          } else resolve();
          return;
        }
        if ((res.statusCode ?? 0) >= 500) {
          reject(new SmokehubError(ERROR_CODES.UNAVAILABLE, `InfluxDB at ${t.display} answered /ping with HTTP ${res.statusCode}`));
          return;
        }
        reject(
          new ConfigError(
            `${t.display} is not an InfluxDB 1.x server (/ping answered HTTP ${res.statusCode}${version ? '' : ' without X-Influxdb-Version'}); check --influx`,
          ),
        );
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' ? `host "${t.host}" not found` : (err.code ?? err.message);
      reject(new SmokehubError(ERROR_CODES.UNAVAILABLE, `InfluxDB at ${t.display} is unreachable (${why})`));
    });
    req.end();
  });
}

/** Why the set-up failed: ConfigError when retrying cannot help (credentials, not InfluxDB), else `unavailable`. */
export function setupError(t: InfluxTarget, err: unknown, what: string): SmokehubError {
  const status = statusOf(err);
  if (status === 401 || status === 403) {
    const who = t.username === null ? 'no user name was given' : `user "${t.username}"`;
    return new ConfigError(
      `InfluxDB at ${t.display} refused to ${what}: ${status === 401 ? 'authentication failed' : 'not authorized'} (${who}); check the user and password in --influx or SMOKEHUB_INFLUX_USER/SMOKEHUB_INFLUX_PASSWORD`,
    );
  }
  if (status !== null && status >= 400 && status < 500) {
    return new ConfigError(`InfluxDB at ${t.display} refused to ${what}: ${(err as Error).message}`);
  }
  return new SmokehubError(ERROR_CODES.UNAVAILABLE, `InfluxDB at ${t.display} could not ${what}: ${(err as Error).message}`);
}

/** POST to InfluxDB; rejects with `{ res: { statusCode } }` on a non-2xx answer (like node-influx). */
export function postInflux(t: InfluxTarget, agent: HttpAgent, path: string, body: string, timeoutMs: number): Promise<void> {
  const headers: Record<string, string | number> = { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) };
  if (t.username !== null) headers.authorization = `Basic ${Buffer.from(`${t.username}:${t.password ?? ''}`).toString('base64')}`;
  return new Promise((resolve, reject) => {
    const req = (t.protocol === 'https' ? httpsRequest : httpRequest)(
      { host: t.host, port: t.port, path: `${t.path}${path}`, method: 'POST', headers, agent, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve();
          const text = Buffer.concat(chunks).toString('utf8').slice(0, 500);
          let message = text;
          try {
            message = (JSON.parse(text) as { error?: string }).error ?? text;
          } catch {
            // not JSON: keep the text
          }
          reject(Object.assign(new Error(`${status}: ${message}`), { res: { statusCode: status } }));
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('Request timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

/** A failed write as a StoreWriteError (reason `database`: the database or retention policy must be set up again). */
export function writeError(err: unknown): StoreWriteError {
  const e = err as Error & { code?: string };
  const status = statusOf(err);
  if (status === 400) return new StoreWriteError(`InfluxDB rejected points: ${e.message}`, false, 'rejected');
  if (status === 401 || status === 403) return new StoreWriteError(`InfluxDB refused the write: ${e.message}`, true, 'auth');
  if (status === 404) {
    // Database or retention policy gone (dropped by hand): the store sets them up again before the retry.
    return new StoreWriteError(`InfluxDB: ${e.message}`, true, 'database');
  }
  if (status !== null) return new StoreWriteError(`InfluxDB write failed: ${e.message}`, true, 'server');
  if (/timed out/i.test(e.message) || e.code === 'ETIMEDOUT' || e.code === 'ESOCKETTIMEDOUT') {
    return new StoreWriteError(`InfluxDB write timed out`, true, 'timeout');
  }
  if (e.constructor?.name === 'ServiceNotAvailableError') {
    return new StoreWriteError(`InfluxDB unavailable: ${e.message}`, true, 'server');
  }
  return new StoreWriteError(`InfluxDB unreachable: ${e.code ?? e.message}`, true, 'unreachable');
}

export function statusOf(err: unknown): number | null {
  const res = (err as { res?: { statusCode?: number } } | null)?.res;
  return typeof res?.statusCode === 'number' ? res.statusCode : null;
}
