/**
 * The hub's certificates on disk. Either the hub's own (DATA/tls/: `ca.pem`, `ca-key.pem`,
 * `hub.pem`, `hub-key.pem`; key files mode 0600): created on the first start, the server
 * certificate re-issued when renewal.ts says so — or the operator's own pair (`--tls-cert`,
 * `--tls-key`, e.g. from an ACME client), checked and never written. A bad or mismatched pair is
 * one ConfigError naming the file.
 */
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import { ConfigError } from '../protocol/errors.ts';
import {
  certFacts,
  createLocalCa,
  issueServerCert,
  keyMatches,
  readCertificate,
  readPrivateKey,
  signedBy,
  type CertFacts,
  type PemPair,
} from './certificates.ts';
import { renewalDecision } from './renewal.ts';
import type { TlsNames } from './tls-names.ts';

export const TLS_DIR = 'tls';

export interface LocalTlsPaths {
  dir: string;
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

export function localTlsPaths(dataDir: string): LocalTlsPaths {
  const dir = join(dataDir, TLS_DIR);
  return { dir, caCert: join(dir, 'ca.pem'), caKey: join(dir, 'ca-key.pem'), cert: join(dir, 'hub.pem'), key: join(dir, 'hub-key.pem') };
}

/** The certificate and key the TLS servers use, and what is known about them. */
export interface TlsMaterial {
  mode: 'local' | 'operator';
  certPem: string;
  keyPem: string;
  certPath: string;
  keyPath: string;
  /** The local CA's certificate (null with the operator's own certificate). */
  caPath: string | null;
  server: CertFacts;
  ca: CertFacts | null;
}

export interface LocalLoadResult {
  material: TlsMaterial;
  /** This call created the CA (the first start): its fingerprint is to be shown. */
  createdCa: boolean;
  /** Why the server certificate was issued by this call (null: the one on disk was kept). */
  issued: string | null;
  warnings: string[];
}

/** Writes a file through a temporary one, fsynced, then renamed over it (never half-written). */
function writeAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** Key files must be 0600: a looser one is tightened, and said. */
function tightenKeyMode(path: string, warnings: string[]): void {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  chmodSync(path, 0o600);
  warnings.push(`${path} was readable by others (mode ${mode.toString(8)}): set to 0600`);
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new ConfigError(`cannot read ${what} ${path}: ${why}`);
  }
}

function parseCert(pem: string, what: string, path: string): X509Certificate {
  try {
    return readCertificate(pem);
  } catch (err) {
    throw new ConfigError(`${what} ${path} is not a valid PEM certificate: ${(err as Error).message}`);
  }
}

function parseKey(pem: string, what: string, path: string) {
  try {
    return readPrivateKey(pem);
  } catch (err) {
    throw new ConfigError(`${what} ${path} is not a valid PEM private key (an unencrypted PKCS#8, EC or RSA key): ${(err as Error).message}`);
  }
}

function readLocalCa(p: LocalTlsPaths): { pair: PemPair; cert: X509Certificate } {
  const certPem = readText(p.caCert, 'the local CA certificate');
  const keyPem = readText(p.caKey, 'the local CA key');
  const cert = parseCert(certPem, 'the local CA certificate', p.caCert);
  const key = parseKey(keyPem, 'the local CA key', p.caKey);
  if (!cert.ca) throw new ConfigError(`${p.caCert} is not a CA certificate`);
  if (!keyMatches(cert, key)) throw new ConfigError(`${p.caKey} is not the key of ${p.caCert}`);
  return { pair: { certPem, keyPem }, cert };
}

/** The server pair on disk if it is whole, matches and is signed by `ca`; else why not. */
function readLocalServer(p: LocalTlsPaths, ca: X509Certificate): { pair: PemPair; facts: CertFacts } | { problem: string } {
  if (!existsSync(p.cert) || !existsSync(p.key)) return { problem: 'none yet' };
  try {
    const pair = { certPem: readFileSync(p.cert, 'utf8'), keyPem: readFileSync(p.key, 'utf8') };
    const cert = readCertificate(pair.certPem);
    if (!keyMatches(cert, readPrivateKey(pair.keyPem))) return { problem: `${p.key} is not the key of ${p.cert}` };
    if (!signedBy(cert, ca)) return { problem: `${p.cert} is not signed by the local CA` };
    return { pair, facts: certFacts(cert) };
  } catch (err) {
    return { problem: `${p.cert} or its key is unreadable: ${(err as Error).message}` };
  }
}

/**
 * The hub's own certificates: creates the CA on the first start, issues the server certificate
 * when there is none, it is broken, or renewal.ts says it is due. Never replaces an existing CA
 * (every phone that trusts it would have to trust a new one): a broken CA is a ConfigError.
 */
export async function loadOrCreateLocal(dataDir: string, names: TlsNames, now: number, hostname: string): Promise<LocalLoadResult> {
  const p = localTlsPaths(dataDir);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  const warnings: string[] = [];
  const haveCert = existsSync(p.caCert);
  const haveKey = existsSync(p.caKey);
  let createdCa = false;
  if (!haveCert && !haveKey) {
    const ca = await createLocalCa(now, hostname);
    writeAtomic(p.caKey, ca.keyPem, 0o600);
    writeAtomic(p.caCert, ca.certPem, 0o644);
    createdCa = true;
  } else if (haveCert !== haveKey) {
    throw new ConfigError(
      `${haveCert ? p.caKey : p.caCert} is missing while ${haveCert ? p.caCert : p.caKey} exists: restore it, or remove ${p.dir} to create a new local CA (every phone and device must then trust the new one)`,
    );
  }
  tightenKeyMode(p.caKey, warnings);
  const ca = readLocalCa(p);
  const current = readLocalServer(p, ca.cert);
  let issued: string | null = null;
  let pair: PemPair;
  if ('problem' in current) {
    issued = current.problem;
  } else {
    const d = renewalDecision(current.facts, now, names);
    if (d.renew) issued = d.detail;
    else if (d.warning) warnings.push(d.warning);
  }
  if (issued !== null) {
    pair = await issueServerCert(ca.pair, names, now);
    writeAtomic(p.key, pair.keyPem, 0o600);
    writeAtomic(p.cert, pair.certPem, 0o644);
  } else {
    pair = (current as { pair: PemPair }).pair;
    tightenKeyMode(p.key, warnings);
  }
  return {
    material: {
      mode: 'local',
      certPem: pair.certPem,
      keyPem: pair.keyPem,
      certPath: p.cert,
      keyPath: p.key,
      caPath: p.caCert,
      server: certFacts(readCertificate(pair.certPem)),
      ca: certFacts(ca.cert),
    },
    createdCa,
    issued,
    warnings,
  };
}

/** The hub's own certificates as they are on disk, for `smokehub tls show` (read-only, keys not read: `keyPem` is empty; null: none yet). */
export function readLocal(dataDir: string): TlsMaterial | null {
  const p = localTlsPaths(dataDir);
  if (!existsSync(p.caCert)) return null;
  const caPem = readText(p.caCert, 'the local CA certificate');
  const ca = parseCert(caPem, 'the local CA certificate', p.caCert);
  const certPem = existsSync(p.cert) ? readText(p.cert, 'the server certificate') : null;
  if (certPem === null) return null;
  const cert = parseCert(certPem, 'the server certificate', p.cert);
  return { mode: 'local', certPem, keyPem: '', certPath: p.cert, keyPath: p.key, caPath: p.caCert, server: certFacts(cert), ca: certFacts(ca) };
}

/** The operator's own certificate (with its chain) and key: checked, one ConfigError if they are not a pair. */
export function loadOperatorPair(certFile: string, keyFile: string): TlsMaterial {
  const certPath = resolve(certFile);
  const keyPath = resolve(keyFile);
  const certPem = readText(certPath, '--tls-cert');
  const keyPem = readText(keyPath, '--tls-key');
  const cert = parseCert(certPem, '--tls-cert', certPath);
  const key = parseKey(keyPem, '--tls-key', keyPath);
  if (!keyMatches(cert, key)) throw new ConfigError(`--tls-cert ${certPath} and --tls-key ${keyPath} do not belong together: the key is not the certificate's`);
  try {
    createSecureContext({ cert: certPem, key: keyPem });
  } catch (err) {
    throw new ConfigError(`--tls-cert ${certPath} with --tls-key ${keyPath} cannot be used for TLS: ${(err as Error).message}`);
  }
  return { mode: 'operator', certPem, keyPem, certPath, keyPath, caPath: null, server: certFacts(cert), ca: null };
}

/** Both or neither of --tls-cert and --tls-key. */
export function operatorFiles(tlsCert: string | null, tlsKey: string | null): { cert: string; key: string } | null {
  if (tlsCert === null && tlsKey === null) return null;
  if (tlsCert === null || tlsKey === null)
    throw new ConfigError(`--tls-cert and --tls-key go together: ${tlsCert === null ? '--tls-cert' : '--tls-key'} is missing`);
  return { cert: tlsCert, key: tlsKey };
}
