/**
 * Secrets and how they are stored.
 *
 * Device secrets are machine-generated and high-entropy (192 bits), so a fast KEYED hash is
 * enough: HMAC-SHA256 with a per-hub random key kept outside the database (DATA/hub.key, 0600).
 * A stolen database alone does not let anyone test guesses, and a whole province (32,000
 * devices) can reconnect after a power cut without 32,000 scrypt runs (~1 µs per check instead
 * of ~100 ms).
 *
 * Human passwords are low-entropy, so they get scrypt (memory-hard, random salt, parameters
 * stored in the encoded string so they can be raised later without breaking old hashes).
 * Every comparison is constant time.
 */
import { createHash, createHmac, randomBytes, randomInt, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../protocol/errors.ts';

/** Bytes of randomness in a generated device secret: 24 bytes = 192 bits = 32 base64url characters. */
export const DEVICE_SECRET_BYTES = 24;
/** A device secret supplied by an operator must be at least this long (characters). */
export const MIN_DEVICE_SECRET_LENGTH = 16;
export const MAX_DEVICE_SECRET_LENGTH = 128;
/** Bytes of the hub's HMAC key. */
export const HUB_KEY_BYTES = 32;
export const HUB_KEY_FILE = 'hub.key';

/** A new device secret: URL-safe base64 without padding (safe in CSV, MQTT passwords, URLs). */
export function generateDeviceSecret(): string {
  return randomBytes(DEVICE_SECRET_BYTES).toString('base64url');
}

/** Why an operator-supplied device secret is unacceptable, or null when it is fine. */
export function deviceSecretProblem(secret: string): string | null {
  if (secret.length < MIN_DEVICE_SECRET_LENGTH) return `secret must be at least ${MIN_DEVICE_SECRET_LENGTH} characters (leave it blank to generate one)`;
  if (secret.length > MAX_DEVICE_SECRET_LENGTH) return `secret must be at most ${MAX_DEVICE_SECRET_LENGTH} characters`;
  if (!/^[\x21-\x7e]+$/.test(secret)) return 'secret must be printable ASCII without spaces';
  return null;
}

/**
 * Reads the hub's HMAC key from DATA/hub.key, creating it (mode 0600) on first use.
 * Losing this file invalidates every device secret; it is part of the data directory backup.
 */
export function loadOrCreateHubKey(dataDir: string): Buffer {
  const file = join(dataDir, HUB_KEY_FILE);
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
    if (key.length !== HUB_KEY_BYTES) {
      throw new ConfigError(
        `${file} is damaged: expected ${HUB_KEY_BYTES} bytes of key, found ${key.length} (restore it from a backup; without it no device can log in)`,
      );
    }
    // Tighten permissions if someone loosened them.
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return key;
  }
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(HUB_KEY_BYTES);
  // 'wx': never overwrite a key another process created in the meantime.
  try {
    writeFileSync(file, key.toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateHubKey(dataDir);
    throw err;
  }
  return key;
}

const DEVICE_HASH_PREFIX = 'hmac-sha256$';

/** Keyed hashing of device secrets. */
export class DeviceSecretHasher {
  private readonly key: Buffer;
  private readonly dummy: string;
  constructor(key: Buffer) {
    if (key.length < 16) throw new Error('hub key is too short');
    this.key = Buffer.from(key);
    this.dummy = this.hash('no-such-device-secret');
  }
  hash(secret: string): string {
    return DEVICE_HASH_PREFIX + createHmac('sha256', this.key).update(secret, 'utf8').digest('base64url');
  }
  /** Constant-time check of `secret` against a stored hash. A missing hash still costs one HMAC. */
  verify(secret: string, stored: string | null | undefined): boolean {
    const expected = Buffer.from(stored ?? this.dummy, 'utf8');
    const actual = Buffer.from(this.hash(secret), 'utf8');
    const same = expected.length === actual.length && timingSafeEqual(expected, actual);
    return same && stored !== null && stored !== undefined;
  }
}

// --- human passwords (scrypt) ---

/** scrypt cost: N=2^15, r=8, p=1 (32 MiB, ~60–150 ms on a Pi 4); stored with each hash. */
export const SCRYPT_PARAMS = { N: 1 << 15, r: 8, p: 1 } as const;
const SCRYPT_KEYLEN = 32;
const SCRYPT_SALT_BYTES = 16;

function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password.normalize('NFC'), salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function maxmemFor(N: number, r: number): number {
  return 128 * N * r * 2 + 1024 * 1024;
}

/** Hashes a password: `scrypt$N$r$p$salt$hash` (base64url). */
export async function hashPassword(password: string, params: { N: number; r: number; p: number } = SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SCRYPT_SALT_BYTES);
  const key = await scrypt(password, salt, SCRYPT_KEYLEN, { N: params.N, r: params.r, p: params.p, maxmem: maxmemFor(params.N, params.r) });
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

interface DecodedPasswordHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function decodePasswordHash(encoded: string): DecodedPasswordHash | null {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  // Refuse absurd parameters instead of letting a damaged row exhaust memory.
  if (!Number.isInteger(N) || N < 2 || N > 1 << 20 || (N & (N - 1)) !== 0) return null;
  if (!Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) return null;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const key = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < 8 || key.length < 16) return null;
  return { N, r, p, salt, key };
}

let dummyHash: Promise<string> | null = null;
/** A hash to verify against when the user does not exist, so timing does not reveal user names. */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return dummyHash;
}

/** Constant-time password check. A malformed stored hash never matches. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const d = decodePasswordHash(encoded);
  if (!d) return false;
  const key = await scrypt(password, d.salt, d.key.length, { N: d.N, r: d.r, p: d.p, maxmem: maxmemFor(d.N, d.r) });
  return timingSafeEqual(key, d.key);
}

/** Letters and digits that cannot be confused when read aloud or copied from paper (no 0/O, 1/l/I). */
const READABLE_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/**
 * A readable generated password: 4 groups of 5 characters from a 31-symbol alphabet,
 * e.g. `k7mfa-q2wzn-x9cbe-t4hrp` (~99 bits).
 */
export function generatePassword(groups = 4, groupLength = 5): string {
  const out: string[] = [];
  for (let g = 0; g < groups; g++) {
    let s = '';
    for (let i = 0; i < groupLength; i++) s += READABLE_ALPHABET[randomInt(READABLE_ALPHABET.length)];
    out.push(s);
  }
  return out.join('-');
}

/** Minimum length of a password chosen by a person. */
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 1024;

export function passwordProblem(password: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `password must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `password must be at most ${MAX_PASSWORD_LENGTH} characters`;
  return null;
}

// --- session tokens ---

/** A new session token (256 bits, base64url). Only its hash is stored. */
export function generateSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Session tokens are random 256-bit values: a plain SHA-256 is a sufficient one-way store. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}
