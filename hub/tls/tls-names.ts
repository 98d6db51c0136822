/**
 * The names a hub's server certificate must carry (pure): `IP:127.0.0.1`, `IP:::1`,
 * `DNS:localhost`, the machine's host name (and `NAME.local`, what mDNS/Avahi answers on a
 * Raspberry Pi), and its non-internal IPv4/IPv6 addresses as `os.networkInterfaces()` lists them
 * (link-local IPv6 left out: a browser cannot use a scoped address in a URL). Also: reading the
 * names back from a certificate's subjectAltName, and which wanted names a certificate lacks.
 */
import { isIP } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';

export interface TlsNames {
  dns: string[];
  ips: string[];
}

export interface NameSources {
  hostname: string;
  interfaces: Record<string, NetworkInterfaceInfo[] | undefined>;
  /** The address the servers listen on (`--host`), when it is one address rather than all. */
  listenHost?: string;
}

const LOOPBACK_IPS = ['127.0.0.1', '::1'];

/** A DNS name that can go into a certificate (letters, digits, '-', dots; no '_' or spaces). */
export function isCertDnsName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(name);
}

function isLinkLocalV6(ip: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(ip);
}

/** Canonical text of an IP address (lower-case, IPv6 compressed as Node prints it). */
export function canonicalIp(ip: string): string {
  const bare = ip.replace(/^\[|\]$/g, '').split('%')[0]!;
  if (isIP(bare) === 6) return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  return bare;
}

export function hubNames(src: NameSources): TlsNames {
  const dns = new Set<string>(['localhost']);
  const host = src.hostname.trim().toLowerCase();
  if (isCertDnsName(host)) {
    dns.add(host);
    if (!host.includes('.')) dns.add(`${host}.local`);
  }
  const ips = new Set<string>(LOOPBACK_IPS);
  for (const list of Object.values(src.interfaces)) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv6' && isLinkLocalV6(a.address)) continue;
      ips.add(canonicalIp(a.address));
    }
  }
  const lh = src.listenHost?.trim();
  if (lh && isIP(lh) && lh !== '0.0.0.0' && lh !== '::') ips.add(canonicalIp(lh));
  else if (lh && !isIP(lh) && isCertDnsName(lh.toLowerCase())) dns.add(lh.toLowerCase());
  return { dns: [...dns], ips: [...ips] };
}

/** Parses Node's `X509Certificate#subjectAltName` ("DNS:a, IP Address:1.2.3.4, ..."). */
export function parseSubjectAltName(san: string | undefined): TlsNames {
  const out: TlsNames = { dns: [], ips: [] };
  if (!san) return out;
  for (const part of san.split(/,\s*/)) {
    const i = part.indexOf(':');
    if (i < 0) continue;
    const kind = part.slice(0, i).trim();
    const value = part
      .slice(i + 1)
      .trim()
      .replace(/^"|"$/g, '');
    if (kind === 'DNS') out.dns.push(value.toLowerCase());
    else if (kind === 'IP Address') out.ips.push(canonicalIp(value));
  }
  return out;
}

/** Wanted names the certificate does not carry (a certificate may carry more). */
export function missingNames(have: TlsNames, want: TlsNames): string[] {
  const dns = new Set(have.dns.map((d) => d.toLowerCase()));
  const ips = new Set(have.ips.map(canonicalIp));
  return [
    ...want.dns.filter((d) => !dns.has(d.toLowerCase())).map((d) => `DNS:${d}`),
    ...want.ips.filter((ip) => !ips.has(canonicalIp(ip))).map((ip) => `IP:${ip}`),
  ];
}

/** `IP:127.0.0.1, DNS:localhost, ...` — as openssl's subjectAltName syntax writes them. */
export function formatNames(n: TlsNames): string {
  return [...n.ips.map((ip) => `IP:${ip}`), ...n.dns.map((d) => `DNS:${d}`)].join(', ');
}
