/**
 * `--hub URL1,URL2,…`: a device or bridge that knows several hub nodes (a cluster, docs/cluster.md)
 * moves to the next when its node refuses it (CONNACK 3 from a node that lost Redis) or dies.
 * One URL: MQTT.js connects to it. Several: MQTT.js `servers`, which takes the next entry at each
 * (re)connection (round robin). The URLs must share their scheme and path (`ws://…/mqtt`).
 */
import type { IClientOptions } from 'mqtt';

/** The URLs of a `--hub` value (comma-separated, blanks ignored). */
export function splitHubUrls(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** What `mqtt.connect(url, options)` takes for a `--hub` value: a URL, or the first URL with `servers`. */
export function hubConnectTarget(value: string): { url: string; options: Pick<IClientOptions, 'servers'> } {
  const urls = splitHubUrls(value);
  if (urls.length <= 1) return { url: urls[0] ?? value, options: {} };
  const parsed = urls.map((u) => new URL(u));
  const protocol = parsed[0]!.protocol;
  const path = parsed[0]!.pathname;
  for (const p of parsed) {
    if (p.protocol !== protocol) throw new Error(`every hub URL must use ${protocol}//, not ${p.protocol}//`);
    if (p.pathname !== path) throw new Error(`every hub URL must have the path ${path}, not ${p.pathname}`);
  }
  const defaultPort = (p: URL) => ({ 'mqtt:': 1883, 'tcp:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 })[p.protocol] ?? 1883;
  type Server = NonNullable<IClientOptions['servers']>[number];
  const scheme = protocol.replace(/:$/, '') as NonNullable<Server['protocol']>;
  return {
    url: urls[0]!,
    options: {
      servers: parsed.map((p) => ({ host: p.hostname.replace(/^\[|\]$/g, ''), port: p.port ? Number(p.port) : defaultPort(p), protocol: scheme })),
    },
  };
}
