import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isE164, normalisePhone, parsePhoneList, validPhones, MAX_PHONES } from '../../../hub/sms/phone-number.ts';

const ok = (raw: string, cc?: number) => {
  const r = normalisePhone(raw, cc);
  assert.ok(r.ok, `${raw}: ${!r.ok ? r.reason : ''}`);
  return r.e164;
};
const reason = (raw: string, cc?: number) => {
  const r = normalisePhone(raw, cc);
  assert.ok(!r.ok, `${raw} should be refused, got ${r.ok ? r.e164 : ''}`);
  return r.reason;
};

test('local Vietnamese numbers become E.164 with the country code; spaces, dots, dashes, brackets ignored', () => {
  assert.equal(ok('0901000002'), '+84901000002');
  assert.equal(ok(' 0901 000 002 '), '+84901000002');
  assert.equal(ok('0901.000.002'), '+84901000002');
  assert.equal(ok('0901-000-002'), '+84901000002');
  assert.equal(ok('(0234) 3822 111'), '+842343822111', 'landline: 10 digits after +84');
  assert.equal(ok('0912\u00a0345\u00a0678'), '+84912345678', 'no-break spaces from a spreadsheet');
});

test('international forms are kept or normalised: +84, 84, 0084, +84 (0)', () => {
  assert.equal(ok('+84901000002'), '+84901000002');
  assert.equal(ok('+84 901 000 002'), '+84901000002');
  assert.equal(ok('84901000002'), '+84901000002');
  assert.equal(ok('0084 901 000 002'), '+84901000002');
  assert.equal(ok('+84 (0) 901 000 002'), '+84901000002');
  assert.equal(ok('+33 6 12 34 56 78'), '+33612345678', 'another country');
  assert.equal(ok('+1 (202) 555-0143'), '+12025550143');
});

test('the country code comes from the setting', () => {
  assert.equal(ok('06 12 34 56 78', 33), '+33612345678');
  assert.equal(ok('33612345678', 33), '+33612345678');
  assert.equal(ok('0901000002', 84), '+84901000002');
  assert.throws(() => normalisePhone('0901000002', 0), RangeError);
  assert.throws(() => normalisePhone('0901000002', 1000), RangeError);
});

test('bad numbers are refused with a reason', () => {
  assert.match(reason('call me'), /letters/);
  assert.match(reason('0901 000 002 ext 5'), /letters/);
  assert.match(reason(''), /empty/);
  assert.match(reason('0900'), /too short/);
  assert.match(reason('+1234567890123456'), /too long.*16 digits.*15/);
  assert.match(reason('0901000002/0902000003'), /separate several numbers with ";"/);
  assert.match(reason('0901,000,002'), /separate several numbers with ";"/);
  assert.match(reason('901000002'), /no leading 0.*write 0901000002/, 'a leading 0 lost in a spreadsheet is not guessed');
  assert.match(reason('090100000211'), /not a Vietnamese number: 11 digits after \+84, expected 9–10/);
  assert.match(reason('090100000'), /not a Vietnamese number: 8 digits after \+84/);
  assert.match(reason('849012345'), /not a Vietnamese number: 7 digits/, '84… that is too short for +84');
  assert.match(reason('+840901000002'), /a 0 after \+84/);
  assert.match(reason('+0901000002'), /country code starting with 0/);
  assert.match(reason('09+01000002'), /"\+" that is not at the start/);
  assert.match(reason('#0901000002'), /may hold only digits/);
});

test('lists separated by ";": every number normalised, duplicates dropped, bad and empty parts reported', () => {
  assert.deepEqual(parsePhoneList(''), { ok: true, phones: [] });
  assert.deepEqual(parsePhoneList('  '), { ok: true, phones: [] });
  assert.deepEqual(parsePhoneList('0901000002; +84 902 000 003 ;0234 3822 111'), { ok: true, phones: ['+84901000002', '+84902000003', '+842343822111'] });
  assert.deepEqual(parsePhoneList('0901000002;+84901000002'), { ok: true, phones: ['+84901000002'] });
  const bad = parsePhoneList('0901000002;;call me;0900');
  assert.ok(!bad.ok);
  assert.equal(bad.reasons.length, 3);
  assert.match(bad.reasons[0]!, /empty number \(part 2 of 4\)/);
  assert.match(bad.reasons[1]!, /^phone "call me" holds letters/);
  assert.match(bad.reasons[2]!, /^phone "0900" is too short/);
  const trailing = parsePhoneList('0901000002;');
  assert.ok(!trailing.ok && /empty number \(part 2 of 2\)/.test(trailing.reasons[0]!));
  const many = Array.from({ length: MAX_PHONES + 1 }, (_, i) => `09010000${String(i).padStart(2, '0')}`).join(';');
  const tooMany = parsePhoneList(many);
  assert.ok(!tooMany.ok && new RegExp(`at most ${MAX_PHONES}`).test(tooMany.reasons[0]!));
});

test('isE164 and the best-effort reading of numbers stored before validation', () => {
  assert.ok(isE164('+84901000002'));
  assert.ok(!isE164('84901000002'));
  assert.ok(!isE164('+0901000002'));
  assert.ok(!isE164('+8490100000212345'));
  assert.deepEqual(validPhones('0912 345 678 / 0913; 0901000002;call me'), ['+84901000002']);
  assert.deepEqual(validPhones(''), []);
});
