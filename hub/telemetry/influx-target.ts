/**
 * Where InfluxDB is: the `--influx` URL (http://[user:pass@]HOST:PORT/DB) parsed and checked, with a
 * display form without the password for logs and errors.
 */
import { ConfigError } from '../protocol/errors.ts';

export interface InfluxTarget {
  protocol: 'http' | 'https';
  host: string;
  port: number;
  /** Path prefix when InfluxDB sits behind a reverse proxy ('' normally). */
  path: string;
  database: string;
  username: string | null;
  password: string | null;
  /** The URL without its password, for logs and errors. */
  display: string;
}

/** Parses `http://[user:pass@]HOST:PORT/DB`; user/password in the URL win over the separate settings. */
export function parseInfluxUrl(url: string, user: string | null = null, password: string | null = null): InfluxTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`influx URL "${url}" is not a URL; expected http://[user:pass@]HOST:PORT/DB`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ConfigError(`influx URL must start with http:// or https://, got "${u.protocol}"`);
  }
  const segments = u.pathname
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponent(s));
  const database = segments.pop();
  if (!database) throw new ConfigError(`influx URL "${redact(u)}" names no database; expected http://HOST:PORT/DB (e.g. http://127.0.0.1:8086/smokehub)`);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(database)) throw new ConfigError(`influx database name "${database}" must be letters, digits, _ . - (at most 64)`);
  const protocol = u.protocol === 'https:' ? 'https' : 'http';
  const username = u.username ? decodeURIComponent(u.username) : user;
  const pass = u.password ? decodeURIComponent(u.password) : password;
  return {
    protocol,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : protocol === 'https' ? 443 : 8086,
    path: segments.length ? `/${segments.join('/')}` : '',
    database,
    username: username || null,
    password: pass ?? null,
    display: redact(u),
  };
}

function redact(u: URL): string {
  const c = new URL(u.href);
  c.password = '';
  return c.href.replace(/\/$/, '');
}
