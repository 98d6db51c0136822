/**
 * Certificates in memory (no file I/O): a local CA and server certificates signed by it, made
 * with @peculiar/x509 over Node's WebCrypto (ECDSA P-256, SHA-256: pure JavaScript plus Node's own
 * crypto, so a fresh Raspberry Pi needs no openssl), and reading a PEM certificate and key back
 * with Node's crypto (names, validity, SHA-256 fingerprint, does the key belong to it).
 */
import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect metadata API
import * as x509 from '@peculiar/x509';
import { X509Certificate, createPrivateKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { BACKDATE_MS, CA_VALIDITY_DAYS, serverNotAfter } from './renewal.ts';
import { parseSubjectAltName, type TlsNames } from './tls-names.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface PemPair {
  certPem: string;
  keyPem: string;
}

/** What the hub and `smokehub tls show` say about a certificate. */
export interface CertFacts {
  subject: string;
  issuer: string;
  names: TlsNames;
  notBefore: number;
  notAfter: number;
  /** `AA:BB:...` (SHA-256 of the DER), as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint256: string;
  isCa: boolean;
}

/** A positive 128-bit serial number (RFC 5280: at most 20 octets, positive). */
function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', key as unknown as webcrypto.CryptoKey);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') + '\n';
}

async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(keyPem)[0];
  if (!der) throw new Error('no key in PEM');
  return (await webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign'])) as unknown as CryptoKey;
}

/** A new local certificate authority (ten years), its key kept by the hub to issue server certificates. */
export async function createLocalCa(now: number, hostname: string): Promise<PemPair> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: [{ CN: [`smokehub local CA (${hostname.slice(0, 40) || 'hub'})`] }, { O: ['smokehub'] }],
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + CA_VALIDITY_DAYS * 86_400_000),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
}

/** A server certificate for `names`, signed by the CA (397 days, never beyond the CA). */
export async function issueServerCert(ca: PemPair, names: TlsNames, now: number): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importSigningKey(ca.keyPem);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const primary = names.dns.find((d) => d !== 'localhost') ?? names.dns[0] ?? 'smokehub';
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: [{ CN: [primary] }, { O: ['smokehub'] }],
    issuer: caCert.subject,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(serverNotAfter(now, caCert.notAfter.getTime())),
    signingKey: caKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.ips.map((value) => ({ type: 'ip' as const, value })),
        ...names.dns.map((value) => ({ type: 'dns' as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
}

/** The first certificate of a PEM text (a chain file starts with the server's own). Throws on bad input. */
export function readCertificate(pem: string): X509Certificate {
  if (!/-----BEGIN CERTIFICATE-----/.test(pem)) throw new Error('no PEM certificate in it (-----BEGIN CERTIFICATE----- missing)');
  return new X509Certificate(pem);
}

export function certFacts(cert: X509Certificate): CertFacts {
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    names: parseSubjectAltName(cert.subjectAltName),
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    fingerprint256: cert.fingerprint256,
    isCa: cert.ca,
  };
}

/** Parses a PEM private key. Throws on bad input. */
export function readPrivateKey(pem: string): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new Error('no PEM private key in it (-----BEGIN ... PRIVATE KEY----- missing)');
  return createPrivateKey(pem);
}

/** Does the key belong to the certificate? */
export function keyMatches(cert: X509Certificate, key: KeyObject): boolean {
  return cert.checkPrivateKey(key);
}

/** Was `cert` signed by `ca`? */
export function signedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}
