/**
 * SMS PDUs against published vectors: the SMS-SUBMIT and SMS-DELIVER examples of the classic
 * "SMS and the PDU format" tutorial (dreamfabric.com, GSM 03.40 layout), Nordic Semiconductor's
 * AT+CMGS example (nRF91 AT command reference), Motorola G24-L's AT+CMGS example (8-bit DCS), and
 * an SMS-STATUS-REPORT from a +CDS capture; plus concatenated DELIVER vectors made by this encoder
 * and checked independently with npm node-pdu 2.1.1 `parse()` (same headers, texts, timestamps).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePdu, encodeDeliver, encodeSubmit, relativeValidity, splitForSms, type DecodedDeliver } from '../../../hub/sms/pdu.ts';
import { isGsm7, toUnaccentedGsm7 } from '../../../hub/sms/modem-gsm7.ts';

test('SMS-SUBMIT: the dreamfabric "hellohello" vector, byte for byte', () => {
  const [p] = encodeSubmit({ to: '+46708251358', text: 'hellohello', alphabet: 'gsm7', statusReport: false, validityMinutes: 4 * 1440 });
  assert.equal(p!.hex, '0011000B916407281553F80000AA0AE8329BFD4697D9EC37');
  assert.equal(p!.tpduLength, 23);
  const d = decodePdu(p!.hex);
  assert.deepEqual([d.type, d.type === 'submit' && d.to, d.type === 'submit' && d.text], ['submit', '+46708251358', 'hellohello']);
});

test('SMS-SUBMIT: Nordic AT+CMGS=42 example with an SMSC address and 1 h validity', () => {
  const hex = '069144888888F811000C9153481032547600000B20D4F29C9E769F4161D0BC3D07B5CBF379F89C769F416F7B590E62D3CB';
  const [p] = encodeSubmit({
    to: '+358401234567',
    text: 'Testing a sms messaging over lte',
    alphabet: 'gsm7',
    statusReport: false,
    validityMinutes: 60,
    smsc: '+448888888',
  });
  assert.equal(p!.hex, hex);
  assert.equal(p!.tpduLength, 42, 'the manual sends AT+CMGS=42');
});

test('SMS-SUBMIT decode: Motorola G24 AT+CMGS=18 example, 8-bit data', () => {
  const d = decodePdu('079179521201009511000c917952428650290004AA0441424344');
  assert.equal(d.type, 'submit');
  if (d.type !== 'submit') return;
  assert.equal(d.to, '+972524680592');
  assert.equal(d.alphabet, '8bit');
  assert.equal(d.text, 'ABCD');
});

test('SMS-DELIVER decode: dreamfabric "How are you?" from +31641600986', () => {
  const d = decodePdu('07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07') as DecodedDeliver;
  assert.equal(d.type, 'deliver');
  assert.equal(d.smsc, '+31624000000');
  assert.equal(d.from, '+31641600986');
  assert.equal(d.fromType, 'international');
  assert.equal(d.text, 'How are you?');
  // SCTS 02-08-26 19:37:41; the zone octet 0x08 is "-0" by TS 23.040 §9.2.3.11 (sign bit, 0 quarters).
  assert.equal(new Date(d.sentAt.epochMs).toISOString(), '2002-08-26T19:37:41.000Z');
  assert.equal(d.sentAt.tzMinutes, 0);
});

test('SMS-STATUS-REPORT decode (+CDS capture without SMSC): delivered, reference and recipient', () => {
  const d = decodePdu('06000B910221815716F2709021510121807090215101718000', { hasSca: false });
  assert.equal(d.type, 'status-report');
  if (d.type !== 'status-report') return;
  assert.equal(d.mr, 0);
  assert.equal(d.recipient, '+20121875612');
  assert.equal(d.status, 0);
  assert.equal(d.delivered, true);
  assert.equal(d.final, true);
  assert.equal(d.at.tzMinutes, 120);
  assert.equal(new Date(d.dischargedAt.epochMs).toISOString(), '2007-09-12T13:10:17.000Z');
  // 0x30 "still trying" is not final; 0x41 is a final failure.
  const pending = decodePdu('0006070B910221815716F2709021510121807090215101718030');
  assert.deepEqual(pending.type === 'status-report' && [pending.mr, pending.delivered, pending.final], [7, false, false]);
  const failed = decodePdu('0006070B910221815716F2709021510121807090215101718041');
  assert.deepEqual(failed.type === 'status-report' && [failed.delivered, failed.final], [false, true]);
});

test('SMS-DELIVER: concatenated UCS-2 (8-bit ref) parts decode with their UDH and join', () => {
  const parts = [
    '07914809000000F0440B914809010000F20008621103802030828C050003C80201005400F40069002001110061006E0067002001111EBF006E002C0020003500200070006800FA00740020006E1EEF0061002000741EDB00690020006E01A10069002E002000431EA7006E0020006D0061006E00670020006200EC006E00680020006300681EEF006100200063006800E100790020006B006800F4006E0067003F002000471ECD',
    '07914809000000F0440B914809010000F20008621103802030822A050003C8020200690020006C1EA10069002000630068006F0020007400F400690020006E006800E90021',
  ].map((h) => decodePdu(h) as DecodedDeliver);
  assert.deepEqual(
    parts.map((p) => p.concat),
    [
      { ref: 200, total: 2, seq: 1, refBits: 8 },
      { ref: 200, total: 2, seq: 2, refBits: 8 },
    ],
  );
  assert.equal(parts[0]!.text.length, 67);
  assert.equal(parts.map((p) => p.text).join(''), 'Tôi đang đến, 5 phút nữa tới nơi. Cần mang bình chữa cháy không? Gọi lại cho tôi nhé!');
  assert.equal(parts[0]!.sentAt.tzMinutes, 420);
  assert.equal(new Date(parts[0]!.sentAt.epochMs).toISOString(), '2026-11-30T01:02:03.000Z');
});

test('SMS-DELIVER: concatenated GSM-7 with the fill bit and extension characters, national sender', () => {
  const parts = [
    '07914809000000F0440A819010000020000062110380203082A0050003090201A8EF34881C769F41E4B21BB4E1B9CFE1FCC607DAA0DCEFFB2605DA946B20EA3B0D2287DD6710B9EC066D78EE7338BFF1813628F7FBBE498136E51A88FA4E83C861F719442EBB411B9EFB1CCE6F7CA00DCAFDBE6F52A04DB906A2BED32072D87D0691CB6ED086E73E87F31B1F688372BFEF9B146853AE81A8EF34881C769F41E4B21BB4E1B9CF',
    '07914809000000F0440A8190100000200000621103802030823A050003090202C2F98D0FB441B9DFF74D0AB429D740D4771A440EBBCF2072D90DDAF0DCE7707EE3036D50EEF77D93026DCA3510',
  ].map((h) => decodePdu(h) as DecodedDeliver);
  assert.equal(parts[0]!.from, '0901000002');
  assert.equal(parts[0]!.fromType, 'unknown');
  assert.equal(parts.map((p) => p.text).join(''), 'Toi dang den [ngay] {now} €5 '.repeat(6));
});

test('SMS-DELIVER: alphanumeric sender round trip (TON 101, GSM-7 packed)', () => {
  const [p] = encodeDeliver({ from: 'VIETTEL', text: 'Xin chao', alphabet: 'gsm7', at: Date.UTC(2026, 10, 30, 1, 2, 3) });
  assert.equal(p!.hex, '07914809000000F0040DD0D664914A2D320100006211038020308208D8B41B344687DF');
  const d = decodePdu(p!.hex) as DecodedDeliver;
  assert.deepEqual([d.from, d.fromType, d.text], ['VIETTEL', 'alphanumeric', 'Xin chao']);
});

test('splitting: 160/153 GSM-7 septets, 70/67 UCS-2 code units, escapes and surrogates kept whole', () => {
  assert.deepEqual(splitForSms('a'.repeat(160), 'gsm7').length, 1);
  assert.deepEqual(
    splitForSms('a'.repeat(161), 'gsm7').map((s) => s.length),
    [153, 8],
  );
  // '€' is two septets: 152 + 2×2 = 156 fits one SMS; 158 + 2 = 160 too; one more splits.
  assert.equal(splitForSms(`${'x'.repeat(152)}€€`, 'gsm7').length, 1);
  const esc = splitForSms(`${'x'.repeat(152)}€${'y'.repeat(10)}`, 'gsm7');
  assert.deepEqual(
    esc.map((s) => s.length),
    [152, 11],
    'the escape pair does not straddle parts',
  );
  assert.equal(splitForSms('đ'.repeat(70), 'ucs2').length, 1);
  assert.deepEqual(
    splitForSms('đ'.repeat(71), 'ucs2').map((s) => s.length),
    [67, 4],
  );
  const emoji = splitForSms(`${'a'.repeat(66)}🔥bbbbb`, 'ucs2'); // 73 code units
  assert.deepEqual(emoji, ['a'.repeat(66), '🔥bbbbb'], 'the surrogate pair moves to the next part');
});

test('a 300-character Vietnamese text: 5 UCS-2 parts of at most 140 octets, one reference, status reports asked', () => {
  const text = 'Cháy tại nhà ông Nguyễn Văn Hùng, số 12 ngõ 5 phố Hồng Gai, Hạ Long. '.repeat(5).slice(0, 300);
  assert.equal(text.length, 300);
  const parts = encodeSubmit({ to: '+84901000002', text, alphabet: 'ucs2', concatRef: 77 });
  assert.equal(parts.length, 5);
  const decoded = parts.map((p) => decodePdu(p.hex));
  for (const [i, d] of decoded.entries()) {
    assert.equal(d.type, 'submit');
    if (d.type !== 'submit') continue;
    assert.deepEqual(d.concat, { ref: 77, total: 5, seq: i + 1, refBits: 8 });
    assert.equal(d.statusReport, true);
    assert.equal(d.alphabet, 'ucs2');
    assert.ok(parts[i]!.tpduLength <= 14 + 140);
  }
  assert.equal(decoded.map((d) => (d.type === 'submit' ? d.text : '')).join(''), text);
  assert.throws(() => encodeSubmit({ to: '+84901000002', text, alphabet: 'ucs2' }), /concatRef/);
});

test('validity period (TS 23.040 §9.2.3.12.1) and unaccented GSM-7', () => {
  assert.equal(relativeValidity(60), 11);
  assert.equal(relativeValidity(24 * 60), 167);
  assert.equal(relativeValidity(4 * 1440), 170);
  assert.equal(relativeValidity(10 * 7 * 1440), 202);
  assert.equal(toUnaccentedGsm7('Cháy! Đến ngay — nhà ông Đức, số 5 “ngõ Hồng”'), 'Chay! Den ngay - nha ong Duc, so 5 "ngo Hong"');
  assert.equal(toUnaccentedGsm7('Ưu tiên ơi ữ ộ ỹ'), 'Uu tien oi u o y');
  assert.ok(isGsm7(toUnaccentedGsm7('温度 50°C «x»')));
  assert.throws(() => encodeSubmit({ to: '+84901000002', text: 'đ', alphabet: 'gsm7' }), /GSM-7/);
});

test('malformed PDUs are refused with PduError, never a crash', () => {
  for (const bad of ['', 'zz', '0011000B91', '07911326040000F0040B9113466100', '0003']) {
    assert.throws(
      () => decodePdu(bad),
      (e: Error & { code?: string }) => e.code === 'bad_pdu',
      bad,
    );
  }
});
