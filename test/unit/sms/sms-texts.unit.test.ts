import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CARD_MAX_PARTS, REPLY_CODES, formatSmsTime, smsAlphabet, smsParts, smsText, type SmsLanguage, type SmsMessage } from '../../../hub/sms/sms-texts.ts';
import { isGsm7 } from '../../../hub/sms/modem-gsm7.ts';

/** 02:04 in Hồ Chí Minh City (UTC+7). */
const AT = Date.UTC(2026, 0, 1, 19, 4);
const ADDRESS = '12 Lê Lợi, phường Phú Hội, Huế';
const NAME = 'Nguyễn Văn Đức';
const CARD_300 = {
  vulnerable: 'Bà nội 85 tuổi nằm liệt giường ở phòng sau tầng 2, cháu nhỏ 3 tuổi ngủ cùng phòng; cần người bế ra ngoài',
  hazards: 'Hai bình gas 12 kg trong bếp phía sau, kho sơn và xăng của tiệm sửa xe ở tầng trệt',
  access: 'Kiệt rộng 1,5 m, xe chữa cháy dừng ở đầu kiệt số 5 Lê Lợi, cổng sắt khóa',
  water: 'Trụ nước cứu hỏa ở ngã tư Lê Lợi - Hùng Vương cách 80 m, giếng khơi sau nhà',
};
const card = (over: Partial<Extract<SmsMessage, { id: 'dispatch-card' }>> = {}): SmsMessage => ({
  id: 'dispatch-card',
  kind: 'smoke',
  household: 'H001',
  name: NAME,
  address: ADDRESS,
  lat: 16.4637,
  lon: 107.5909,
  card: CARD_300,
  at: AT,
  ...over,
});

/** One message of every id (and variant), with Vietnamese parameters. */
const ALL: SmsMessage[] = [
  { id: 'pre-alarm', kind: 'smoke', address: ADDRESS, at: AT },
  { id: 'pre-alarm', kind: 'heat', address: ADDRESS, at: AT },
  { id: 'pre-alarm', kind: 'co', address: ADDRESS, at: AT },
  { id: 'pre-alarm', kind: 'panic', address: ADDRESS, at: AT },
  { id: 'active', kind: 'smoke', name: NAME, address: ADDRESS, at: AT },
  { id: 'active', kind: 'smoke', name: NAME, address: ADDRESS, at: AT, nearby: true },
  card(),
  { id: 'acknowledged', address: ADDRESS },
  { id: 'dispatched', address: ADDRESS },
  { id: 'dispatched', address: ADDRESS, etaMin: 7, note: 'Mở sẵn cổng' },
  { id: 'hushed', name: NAME, address: ADDRESS },
  { id: 'cancelled', name: NAME, address: ADDRESS },
  { id: 'resolved', name: NAME, address: ADDRESS, at: AT },
  ...(['0', '1', '2', '3'] as const).map((code): SmsMessage => ({ id: 'reply-ack', code, address: ADDRESS })),
  { id: 'reply-closed', address: ADDRESS },
  { id: 'help-unknown-code' },
  { id: 'help-unknown-number' },
];

test('pre-alarm to the origin household: Vietnamese by default, English on request', () => {
  assert.equal(
    smsText({ id: 'pre-alarm', kind: 'smoke', address: ADDRESS, at: AT }),
    'BÁO CHÁY 02:04: đầu báo khói tại 12 Lê Lợi, phường Phú Hội, Huế đang báo khói. Trả lời 0 nếu là báo động giả.',
  );
  assert.equal(
    smsText({ id: 'pre-alarm', kind: 'smoke', address: ADDRESS, at: AT }, { lang: 'en' }),
    'FIRE ALARM 02:04: your smoke detector at 12 Lê Lợi, phường Phú Hội, Huế detects smoke. Reply 0 if it is a false alarm.',
  );
  assert.match(smsText({ id: 'pre-alarm', kind: 'panic', address: ADDRESS, at: AT }), /nút báo cháy tại 12 Lê Lợi.* vừa được bấm/);
  assert.match(smsText({ id: 'pre-alarm', kind: 'co', address: ADDRESS, at: AT }, { lang: 'en' }), /CO detector .* carbon monoxide/);
});

test('active to the neighbours: address, the origin name and the reply codes; "near you" for nearby homes', () => {
  const vi = smsText({ id: 'active', kind: 'smoke', name: NAME, address: ADDRESS, at: AT });
  assert.equal(vi, 'BÁO CHÁY 02:04 Nguyễn Văn Đức: có khói tại 12 Lê Lợi, phường Phú Hội, Huế. Trả lời: 1 tôi đến, 2 không đến được, 3 gọi cứu hỏa.');
  assert.ok(smsParts(vi) <= 2, 'a neighbour alert is two UCS-2 parts at most: a modem sends one part every few seconds');
  const en = smsText({ id: 'active', kind: 'heat', name: NAME, address: ADDRESS, at: AT }, { lang: 'en' });
  assert.equal(en, 'FIRE ALARM 02:04 - Nguyễn Văn Đức: high heat at 12 Lê Lợi, phường Phú Hội, Huế. Reply 1 coming, 2 cannot come, 3 call the fire brigade.');
  assert.match(smsText({ id: 'active', kind: 'smoke', name: NAME, address: ADDRESS, at: AT, nearby: true }), /^BÁO CHÁY GẦN BẠN 02:04 Nguyễn/);
  assert.match(
    smsText({ id: 'active', kind: 'smoke', name: NAME, address: ADDRESS, at: AT, nearby: true }, { lang: 'en' }),
    /^FIRE NEAR YOU 02:04 - .*Reply 1 coming/,
  );
  // A line break in a CSV cell does not reach the SMS.
  assert.match(smsText({ id: 'active', kind: 'smoke', name: NAME, address: 'Kiệt 5\nHẻm 3', at: AT }), /tại Kiệt 5 Hẻm 3\. /);
});

test('stand-down, hushed, station acknowledgement and dispatch, reply acknowledgements and help, in both languages', () => {
  const vi = (m: SmsMessage) => smsText(m);
  const en = (m: SmsMessage) => smsText(m, { lang: 'en' });
  assert.equal(vi({ id: 'dispatched', address: '12 Lê Lợi' }), 'Xe chữa cháy đang đến 12 Lê Lợi.');
  assert.equal(vi({ id: 'dispatched', address: '12 Lê Lợi', etaMin: 6.6 }), 'Xe chữa cháy đang đến 12 Lê Lợi, khoảng 7 phút nữa.');
  assert.equal(
    vi({ id: 'dispatched', address: '12 Lê Lợi', etaMin: 5, note: 'Mở sẵn cổng' }),
    'Xe chữa cháy đang đến 12 Lê Lợi, khoảng 5 phút nữa. Trung tâm: Mở sẵn cổng',
  );
  assert.equal(en({ id: 'dispatched', address: '12 Lê Lợi', etaMin: 5 }), 'A fire engine is on its way to 12 Lê Lợi, about 5 min.');
  assert.equal(vi({ id: 'acknowledged', address: '12 Lê Lợi' }), 'Trung tâm chữa cháy đã nhận tin báo cháy tại 12 Lê Lợi.');
  assert.equal(en({ id: 'acknowledged', address: '12 Lê Lợi' }), 'The fire station has received the alarm at 12 Lê Lợi.');
  assert.match(vi({ id: 'hushed', name: NAME, address: '12 Lê Lợi' }), /^RÚT LUI: Nguyễn Văn Đức, 12 Lê Lợi, báo đã kiểm soát được\./);
  assert.match(en({ id: 'hushed', name: NAME, address: '12 Lê Lợi' }), /^STAND DOWN: Nguyễn Văn Đức, 12 Lê Lợi, says it is under control\./);
  assert.equal(vi({ id: 'cancelled', name: NAME, address: '12 Lê Lợi' }), 'HỦY BÁO CHÁY: báo cháy tại 12 Lê Lợi (Nguyễn Văn Đức) là báo động giả. Cảm ơn bạn.');
  assert.equal(en({ id: 'cancelled', name: NAME, address: '12 Lê Lợi' }), 'STAND DOWN: the alarm at 12 Lê Lợi (Nguyễn Văn Đức) was a false alarm. Thank you.');
  assert.equal(
    vi({ id: 'resolved', name: NAME, address: '12 Lê Lợi', at: AT }),
    'KẾT THÚC: báo cháy tại 12 Lê Lợi (Nguyễn Văn Đức) đã xử lý xong lúc 02:04. Cảm ơn bạn.',
  );
  assert.equal(
    en({ id: 'resolved', name: NAME, address: '12 Lê Lợi', at: AT }),
    'ALL CLEAR: the alarm at 12 Lê Lợi (Nguyễn Văn Đức) was closed at 02:04. Thank you.',
  );
  const acks = (['0', '1', '2', '3'] as const).map((code) => [
    vi({ id: 'reply-ack', code, address: '12 Lê Lợi' }),
    en({ id: 'reply-ack', code, address: '12 Lê Lợi' }),
  ]);
  assert.deepEqual(acks, [
    ['Đã ghi nhận: báo động giả tại 12 Lê Lợi. Cảm ơn bạn.', 'Noted: false alarm at 12 Lê Lợi. Thank you.'],
    ['Đã ghi nhận: bạn đang đến 12 Lê Lợi. Cảm ơn bạn!', 'Noted: you are coming to 12 Lê Lợi. Thank you!'],
    ['Đã ghi nhận: bạn không đến được 12 Lê Lợi.', 'Noted: you cannot come to 12 Lê Lợi.'],
    ['Đã ghi nhận: cần gọi cứu hỏa cho 12 Lê Lợi.', 'Noted: fire brigade needed at 12 Lê Lợi.'],
  ]);
  assert.deepEqual(REPLY_CODES, { '0': 'false-alarm', '1': 'coming', '2': 'unable', '3': 'need-help' });
  assert.match(vi({ id: 'reply-closed', address: '12 Lê Lợi' }), /đã kết thúc, không cần trả lời/);
  assert.match(en({ id: 'reply-closed', address: '12 Lê Lợi' }), /is over; no reply needed/);
  for (const c of ['0', '1', '2', '3']) {
    assert.match(vi({ id: 'help-unknown-code' }), new RegExp(`${c} = `));
    assert.match(en({ id: 'help-unknown-code' }), new RegExp(`${c} = `));
  }
  assert.match(vi({ id: 'help-unknown-number' }), /chưa đăng ký/);
  assert.match(en({ id: 'help-unknown-number' }), /not registered/);
  // Every message differs between the languages and is not empty.
  for (const m of ALL) assert.notEqual(vi(m), en(m), m.id);
});

test('times are HH:mm, 24-hour, in the hub time zone', () => {
  assert.equal(formatSmsTime(AT), '02:04');
  assert.equal(formatSmsTime(AT, 'UTC'), '19:04');
  assert.equal(formatSmsTime(Date.UTC(2026, 0, 1, 17, 0)), '00:00');
  assert.equal(formatSmsTime(Date.UTC(2026, 0, 1, 6, 30)), '13:30');
  assert.match(smsText({ id: 'pre-alarm', kind: 'smoke', address: 'x', at: AT }, { timeZone: 'Europe/Paris' }), /^BÁO CHÁY 20:04:/);
});

test('drills: every text begins with DIỄN TẬP (DIEN TAP unaccented) or DRILL; an alarm of kind drill is one', () => {
  for (const m of ALL) {
    assert.match(smsText(m, { drill: true }), /^DIỄN TẬP - /, m.id);
    assert.match(smsText(m, { drill: true, unaccented: true }), /^DIEN TAP - /, m.id);
    assert.match(smsText(m, { drill: true, lang: 'en' }), /^DRILL - /, m.id);
    assert.doesNotMatch(smsText(m), /DIỄN TẬP|DRILL/, m.id);
  }
  assert.match(smsText({ id: 'active', kind: 'drill', name: NAME, address: ADDRESS, at: AT }), /^DIỄN TẬP - BÁO CHÁY 02:04 .*diễn tập tại/);
  assert.ok(smsParts(smsText(card({ kind: 'drill' }), { drill: true })) <= CARD_MAX_PARTS, 'the drill prefix still fits the card limit');
});

test('unaccented output is pure GSM-7 with no Vietnamese diacritics, for every text and language', () => {
  const odd = { id: 'active', kind: 'smoke', name: 'Trần Thị “Bé” Hoa – 陈', address: 'Kiệt 5… Hẻm 3 ° «A»', at: AT } as const;
  for (const lang of ['vi', 'en'] as SmsLanguage[]) {
    for (const m of [...ALL, odd]) {
      const text = smsText(m, { lang, unaccented: true });
      assert.ok(isGsm7(text), `${lang} ${m.id}: ${text}`);
      assert.match(text, /^[\x20-\x7e]+$/, `${lang} ${m.id} is plain ASCII: ${text}`);
      assert.equal(smsAlphabet(text), 'gsm7');
    }
  }
  assert.equal(
    smsText({ id: 'pre-alarm', kind: 'smoke', address: ADDRESS, at: AT }, { unaccented: true }),
    'BAO CHAY 02:04: dau bao khoi tai 12 Le Loi, phuong Phu Hoi, Hue dang bao khoi. Tra loi 0 neu la bao dong gia.',
  );
  assert.match(smsText({ id: 'dispatched', address: 'Đường Đào Duy Từ' }, { unaccented: true }), /^Xe chua chay dang den Duong Dao Duy Tu\.$/);
  assert.equal(smsAlphabet(smsText({ id: 'help-unknown-code' })), 'ucs2');
});

test('the dispatch card: household, address, geo: link and the card fields within two parts; cuts say "…"', () => {
  assert.ok(Object.values(CARD_300).join('').length >= 300);
  for (const lang of ['vi', 'en'] as SmsLanguage[]) {
    for (const unaccented of [false, true]) {
      const text = smsText(card(), { lang, unaccented });
      const parts = smsParts(text, { unaccented });
      assert.ok(parts <= CARD_MAX_PARTS, `${lang}/${unaccented}: ${parts} parts: ${text}`);
      assert.ok(parts === CARD_MAX_PARTS, 'a long card uses both parts');
      assert.match(text, /\(H001\)/);
      assert.match(text, /geo:16\.4637,107\.5909/);
      assert.match(text, unaccented ? /\.\.\./ : /…/, 'the cut is marked');
    }
  }
  // In GSM-7 (306 septets) the most important field survives whole and the least important is cut first.
  const gsm = smsText(card(), { unaccented: true });
  assert.match(gsm, /Nguoi can giup: Ba noi 85 tuoi .* can nguoi be ra ngoai\./);
  assert.match(gsm, /Nguy hiem: Hai binh gas/);
  assert.doesNotMatch(gsm, /Truc nuoc|Tru nuoc/, 'water (least important) is left out before hazards is cut');
  assert.match(gsm, /BAO CHAY \(khoi\) 02:04: Nguyen Van Duc \(H001\), 12 Le Loi, phuong Phu Hoi, Hue\./, 'name and address whole');
  // UCS-2 (134 characters): the address stays whole, the most important field keeps a prefix.
  const ucs = smsText(card());
  assert.match(ucs, /12 Lê Lợi, phường Phú Hội, Huế\. geo:16\.4637,107\.5909\. Người cần giúp: Bà nội/);
  assert.doesNotMatch(ucs, /Nguồn nước/);

  // A short card is sent whole, fields in order of importance, without "…".
  const short = smsText(card({ card: { vulnerable: 'Ông 80 tuổi', hazards: 'Bình gas', access: 'Kiệt 2 m', water: 'Giếng' } }), { unaccented: true });
  assert.equal(
    short,
    'BAO CHAY (khoi) 02:04: Nguyen Van Duc (H001), 12 Le Loi, phuong Phu Hoi, Hue. geo:16.4637,107.5909. Nguoi can giup: Ong 80 tuoi. Nguy hiem: Binh gas. Loi vao: Kiet 2 m. Nguon nuoc: Gieng.',
  );
  const en = smsText(card({ card: { vulnerable: '', hazards: 'Gas', access: '', water: '' }, lat: null, lon: null }), { lang: 'en' });
  assert.equal(en, 'FIRE (smoke) 02:04: Nguyễn Văn Đức (H001), 12 Lê Lợi, phường Phú Hội, Huế. No position. Hazards: Gas.');
  // Even a 500-character address and a 64-character household id fit.
  const huge = card({ household: 'h'.repeat(64), address: 'Số 1 Lê Lợi '.repeat(42).slice(0, 500), name: 'Nhà '.repeat(50) });
  for (const unaccented of [false, true]) assert.ok(smsParts(smsText(huge, { unaccented }), { unaccented }) <= CARD_MAX_PARTS);
});

test('smsParts: UCS-2 70/67, GSM-7 160/153, extension characters count 2 and never straddle parts', () => {
  const vi = (n: number) => 'ệ'.repeat(n);
  assert.equal(smsParts(vi(70)), 1);
  assert.equal(smsParts(vi(71)), 2);
  assert.equal(smsParts(vi(134)), 2);
  assert.equal(smsParts(vi(135)), 3);
  assert.equal(smsParts('😀'.repeat(35)), 1, 'a surrogate pair is 2 UCS-2 code units');
  assert.equal(smsParts('😀'.repeat(36)), 2);
  assert.equal(smsParts('a'.repeat(160)), 1);
  assert.equal(smsParts('a'.repeat(161)), 2);
  assert.equal(smsParts('a'.repeat(306)), 2);
  assert.equal(smsParts('a'.repeat(307)), 3);
  assert.equal(smsParts('€'.repeat(80)), 1, '80 × 2 septets = 160');
  assert.equal(smsParts('€'.repeat(81)), 2);
  assert.equal(smsParts('a'.repeat(152) + '[' + 'a'.repeat(10)), 2, 'the escape pair moves whole to part 2');
  assert.equal(smsParts('a'.repeat(152) + '[' + 'a'.repeat(152)), 3, '152 + 2 does not fit 153: 3 parts, not 2');
  // unaccented: counted as sent in that mode.
  assert.equal(smsParts(vi(100)), 2);
  assert.equal(smsParts(vi(100), { unaccented: true }), 1);
  assert.equal(smsParts(''), 1);
});
