import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeviceSecretHasher,
  deviceSecretProblem,
  generateDeviceSecret,
  generatePassword,
  generateSessionToken,
  hashPassword,
  hashSessionToken,
  loadOrCreateHubKey,
  verifyPassword,
} from '../../../hub/store/credentials.ts';

const FAST = { N: 1024, r: 8, p: 1 };

test('generated device secrets are URL-safe, at least 128 bits, and unique', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const s = generateDeviceSecret();
    assert.match(s, /^[A-Za-z0-9_-]+$/);
    assert.ok(Buffer.from(s, 'base64url').length * 8 >= 128);
    assert.equal(deviceSecretProblem(s), null);
    seen.add(s);
  }
  assert.equal(seen.size, 2000);
});

test('operator-supplied device secrets must be long and printable', () => {
  assert.match(deviceSecretProblem('short')!, /at least 16/);
  assert.match(deviceSecretProblem('has a space in it here')!, /printable/);
  assert.match(deviceSecretProblem('x'.repeat(129))!, /at most/);
  assert.equal(deviceSecretProblem('abcdefghijklmnop'), null);
});

test('the hub key is created once with mode 0600 and read back identically', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-key-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const k1 = loadOrCreateHubKey(dir);
  assert.equal(k1.length, 32);
  assert.equal(statSync(join(dir, 'hub.key')).mode & 0o777, 0o600);
  const k2 = loadOrCreateHubKey(dir);
  assert.deepEqual(k2, k1);
  writeFileSync(join(dir, 'hub.key'), 'dG9vIHNob3J0\n');
  assert.throws(() => loadOrCreateHubKey(dir), /damaged/);
});

test('device secret hashes are keyed: another hub key gives another hash; verify is exact', () => {
  const a = new DeviceSecretHasher(Buffer.alloc(32, 1));
  const b = new DeviceSecretHasher(Buffer.alloc(32, 2));
  const secret = generateDeviceSecret();
  const h = a.hash(secret);
  assert.notEqual(h, b.hash(secret));
  assert.ok(!h.includes(secret));
  assert.equal(a.verify(secret, h), true);
  assert.equal(b.verify(secret, h), false);
  assert.equal(a.verify(secret + 'x', h), false);
  assert.equal(a.verify('', h), false);
  assert.equal(a.verify(secret, undefined), false);
  assert.equal(a.verify(secret, null), false);
  assert.equal(a.verify(secret, 'garbage'), false);
});

test('passwords: scrypt with random salt and encoded parameters; verify accepts only the password', async () => {
  const h1 = await hashPassword('correct horse battery', FAST);
  const h2 = await hashPassword('correct horse battery', FAST);
  assert.notEqual(h1, h2, 'salted');
  assert.match(h1, /^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
  assert.equal(await verifyPassword('correct horse battery', h1), true);
  assert.equal(await verifyPassword('correct horse batterx', h1), false);
  assert.equal(await verifyPassword('', h1), false);
  assert.equal(await verifyPassword('x', 'not-a-hash'), false);
  // Absurd parameters in a damaged row are refused rather than run.
  assert.equal(await verifyPassword('x', 'scrypt$1073741824$8$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA'), false);
  // Default (production) parameters work too, and Vietnamese passwords normalise (NFC).
  const h3 = await hashPassword('Mật khẩu an toàn');
  assert.match(h3, /^scrypt\$32768\$8\$1\$/);
  assert.equal(await verifyPassword('Mật khẩu an toàn'.normalize('NFD'), h3), true);
});

test('generated passwords are readable and varied; session tokens are hashed one-way', () => {
  const pw = generatePassword();
  assert.match(pw, /^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
  assert.doesNotMatch(pw, /[01ilo]/);
  assert.notEqual(generatePassword(), pw);
  const tok = generateSessionToken();
  assert.ok(Buffer.from(tok, 'base64url').length >= 32);
  assert.equal(hashSessionToken(tok), hashSessionToken(tok));
  assert.notEqual(hashSessionToken(tok), tok);
});
