/**
 * The SMS texts the hub sends, in Vietnamese (with diacritics, the default) and English, from
 * message ids with parameters: one table per language, `{name}` placeholders, no sentence glued in
 * code. `unaccented` turns the finished text into Vietnamese-without-diacritics GSM-7 (đ→d,
 * punctuation made plain), 160 characters per SMS instead of 70. Drills begin with "DIỄN TẬP"
 * ("DIEN TAP" unaccented, "DRILL" in English). Times are HH:mm (24-hour, vi-VN) in the hub's time
 * zone. The dispatch card sent to the fire station fits two SMS parts: its least important fields
 * are shortened first, each cut marked with "…". Pure.
 */
import type { AlarmKind } from '../protocol/schema.ts';
import type { ResponseKind } from '../protocol/schema.ts';
import type { CardField, HouseholdCard } from '../store/registry-types.ts';
import { isGsm7, toUnaccentedGsm7 } from './modem-gsm7.ts';
import { splitForSms, type SmsAlphabet } from './pdu.ts';

export const SMS_LANGUAGES = ['vi', 'en'] as const;
export type SmsLanguage = (typeof SMS_LANGUAGES)[number];

/** Reply codes (one digit) and the response each one records. `0` only from the origin household. */
export const REPLY_CODES = { '0': 'false-alarm', '1': 'coming', '2': 'unable', '3': 'need-help' } as const satisfies Record<string, ResponseKind>;
export type ReplyCode = keyof typeof REPLY_CODES;

/** The dispatch card SMS never takes more than this many parts. */
export const CARD_MAX_PARTS = 2;
/** Card fields in the order they are written (the most important first). */
export const CARD_FIELD_ORDER: readonly CardField[] = ['vulnerable', 'hazards', 'access', 'water'];
/** What is shortened first when the card is too long: the least important first; the address last. */
export const CARD_CUT_ORDER: ReadonlyArray<CardField | 'name' | 'address'> = ['water', 'access', 'hazards', 'name', 'vulnerable', 'address'];
/** A shortened value keeps at least this many characters, or (a card field) is left out. */
const CARD_MIN_KEPT = 8;

export type SmsMessage =
  /** To the origin household: its detector alarms; `0` is its false alarm. */
  | { id: 'pre-alarm'; kind: AlarmKind; address: string; at: number }
  /** To the other households of the team (`nearby`: of another team, close to the fire). */
  | { id: 'active'; kind: AlarmKind; name: string; address: string; at: number; nearby?: boolean }
  /** The dispatch card, to the fire station numbers when the alarm escalates. */
  | {
      id: 'dispatch-card';
      kind: AlarmKind;
      household: string;
      name: string;
      address: string;
      lat: number | null;
      lon: number | null;
      card: HouseholdCard;
      at: number;
    }
  /** The station has seen the alarm. */
  | { id: 'acknowledged'; address: string }
  /** A fire engine is on its way. */
  | { id: 'dispatched'; address: string; etaMin?: number; note?: string }
  /** The origin household says it is under control (stand down, still watched). */
  | { id: 'hushed'; name: string; address: string }
  /** Closed as a false alarm. */
  | { id: 'cancelled'; name: string; address: string }
  /** Closed: the alarm is over. */
  | { id: 'resolved'; name: string; address: string; at: number }
  /** A reply was recorded. */
  | { id: 'reply-ack'; code: ReplyCode; address: string }
  /** A reply about an alarm that is already closed. */
  | { id: 'reply-closed'; address: string }
  /** A reply that is not one of the codes. */
  | { id: 'help-unknown-code' }
  /** A message from a number that is not in the registry. */
  | { id: 'help-unknown-number' };
export type SmsMessageId = SmsMessage['id'];

export interface SmsTextOptions {
  /** Default 'vi'. */
  lang?: SmsLanguage;
  /** GSM-7 without diacritics. */
  unaccented?: boolean;
  /** Marks the text as a drill (implied by an alarm of kind `drill`). */
  drill?: boolean;
  /** IANA time zone of the times shown; default Asia/Ho_Chi_Minh. */
  timeZone?: string;
}

type Key =
  | 'drill'
  | 'codes'
  | `own.${AlarmKind}`
  | `at.${AlarmKind}`
  | `kind.${AlarmKind}`
  | 'pre-alarm'
  | 'active'
  | 'active.nearby'
  | 'card'
  | 'card.geo'
  | 'card.no-geo'
  | `card.${CardField}`
  | 'acknowledged'
  | 'dispatched'
  | 'dispatched.eta'
  | 'dispatched.note'
  | 'hushed'
  | 'cancelled'
  | 'resolved'
  | `ack.${ReplyCode}`
  | 'reply-closed'
  | 'help-unknown-code'
  | 'help-unknown-number';

const VI: Record<Key, string> = {
  drill: 'DIỄN TẬP - {text}',
  codes: 'Trả lời: 1 tôi đến, 2 không đến được, 3 gọi cứu hỏa.',
  'own.smoke': 'đầu báo khói tại {address} đang báo khói',
  'own.heat': 'đầu báo nhiệt tại {address} đang báo nhiệt độ cao',
  'own.co': 'đầu báo khí CO tại {address} đang báo khí CO',
  'own.gas': 'đầu báo rò rỉ khí gas tại {address} đang báo rò khí gas',
  'own.panic': 'nút báo cháy tại {address} vừa được bấm',
  'own.drill': 'báo cháy diễn tập tại {address}',
  'at.smoke': 'có khói tại {address}',
  'at.heat': 'nhiệt độ cao tại {address}',
  'at.co': 'khí CO tại {address}',
  'at.gas': 'rò khí gas tại {address}',
  'at.panic': 'bấm nút báo cháy tại {address}',
  'at.drill': 'diễn tập tại {address}',
  'kind.smoke': 'khói',
  'kind.heat': 'nhiệt',
  'kind.co': 'khí CO',
  'kind.gas': 'khí gas',
  'kind.panic': 'nút báo',
  'kind.drill': 'diễn tập',
  'pre-alarm': 'BÁO CHÁY {time}: {what}. Trả lời 0 nếu là báo động giả.',
  active: 'BÁO CHÁY {time} {name}: {what}. {codes}',
  'active.nearby': 'BÁO CHÁY GẦN BẠN {time} {name}: {what}. {codes}',
  card: 'BÁO CHÁY ({kind}) {time}: {name} ({household}), {address}. {details}',
  'card.geo': 'geo:{lat},{lon}',
  'card.no-geo': 'Chưa có tọa độ',
  'card.vulnerable': 'Người cần giúp: {value}',
  'card.hazards': 'Nguy hiểm: {value}',
  'card.access': 'Lối vào: {value}',
  'card.water': 'Nguồn nước: {value}',
  acknowledged: 'Trung tâm chữa cháy đã nhận tin báo cháy tại {address}.',
  dispatched: 'Xe chữa cháy đang đến {address}.',
  'dispatched.eta': 'Xe chữa cháy đang đến {address}, khoảng {eta} phút nữa.',
  'dispatched.note': 'Trung tâm: {note}',
  hushed: 'RÚT LUI: {name}, {address}, báo đã kiểm soát được. Trung tâm vẫn theo dõi và sẽ báo lại nếu còn cháy.',
  cancelled: 'HỦY BÁO CHÁY: báo cháy tại {address} ({name}) là báo động giả. Cảm ơn bạn.',
  resolved: 'KẾT THÚC: báo cháy tại {address} ({name}) đã xử lý xong lúc {time}. Cảm ơn bạn.',
  'ack.0': 'Đã ghi nhận: báo động giả tại {address}. Cảm ơn bạn.',
  'ack.1': 'Đã ghi nhận: bạn đang đến {address}. Cảm ơn bạn!',
  'ack.2': 'Đã ghi nhận: bạn không đến được {address}.',
  'ack.3': 'Đã ghi nhận: cần gọi cứu hỏa cho {address}.',
  'reply-closed': 'Báo cháy tại {address} đã kết thúc, không cần trả lời.',
  'help-unknown-code': 'Không hiểu tin nhắn. Trả lời bằng một số: 1 = tôi đến, 2 = không đến được, 3 = cần gọi cứu hỏa, 0 = báo động giả (nhà bạn).',
  'help-unknown-number': 'Số điện thoại này chưa đăng ký với tổ PCCC liên gia. Hãy liên hệ tổ trưởng để đăng ký.',
};

const EN: Record<Key, string> = {
  drill: 'DRILL - {text}',
  codes: 'Reply 1 coming, 2 cannot come, 3 call the fire brigade.',
  'own.smoke': 'your smoke detector at {address} detects smoke',
  'own.heat': 'your heat detector at {address} detects high heat',
  'own.co': 'your CO detector at {address} detects carbon monoxide',
  'own.gas': 'your gas detector at {address} detects a gas leak',
  'own.panic': 'the alarm button at {address} was pressed',
  'own.drill': 'a practice alarm at {address}',
  'at.smoke': 'smoke at {address}',
  'at.heat': 'high heat at {address}',
  'at.co': 'carbon monoxide at {address}',
  'at.gas': 'gas leak at {address}',
  'at.panic': 'alarm button pressed at {address}',
  'at.drill': 'practice alarm at {address}',
  'kind.smoke': 'smoke',
  'kind.heat': 'heat',
  'kind.co': 'CO',
  'kind.gas': 'gas',
  'kind.panic': 'button',
  'kind.drill': 'drill',
  'pre-alarm': 'FIRE ALARM {time}: {what}. Reply 0 if it is a false alarm.',
  active: 'FIRE ALARM {time} - {name}: {what}. {codes}',
  'active.nearby': 'FIRE NEAR YOU {time} - {name}: {what}. {codes}',
  card: 'FIRE ({kind}) {time}: {name} ({household}), {address}. {details}',
  'card.geo': 'geo:{lat},{lon}',
  'card.no-geo': 'No position',
  'card.vulnerable': 'Needs help out: {value}',
  'card.hazards': 'Hazards: {value}',
  'card.access': 'Access: {value}',
  'card.water': 'Water: {value}',
  acknowledged: 'The fire station has received the alarm at {address}.',
  dispatched: 'A fire engine is on its way to {address}.',
  'dispatched.eta': 'A fire engine is on its way to {address}, about {eta} min.',
  'dispatched.note': 'Station: {note}',
  hushed: 'STAND DOWN: {name}, {address}, says it is under control. The hub keeps watching and will alert you again if the fire comes back.',
  cancelled: 'STAND DOWN: the alarm at {address} ({name}) was a false alarm. Thank you.',
  resolved: 'ALL CLEAR: the alarm at {address} ({name}) was closed at {time}. Thank you.',
  'ack.0': 'Noted: false alarm at {address}. Thank you.',
  'ack.1': 'Noted: you are coming to {address}. Thank you!',
  'ack.2': 'Noted: you cannot come to {address}.',
  'ack.3': 'Noted: fire brigade needed at {address}.',
  'reply-closed': 'The alarm at {address} is over; no reply needed.',
  'help-unknown-code': 'Not understood. Reply with one digit: 1 = coming, 2 = cannot come, 3 = need help (fire brigade), 0 = false alarm (your own home).',
  'help-unknown-number': 'This number is not registered with a fire-prevention team. Ask your team leader to add it.',
};

const TABLES: Record<SmsLanguage, Record<Key, string>> = { vi: VI, en: EN };
const ELLIPSIS = '…';

/** Fills `{param}` placeholders; a missing parameter is a programming error. */
function fill(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v = params[k];
    if (v === undefined) throw new Error(`SMS template parameter {${k}} missing`);
    return v;
  });
}

const timeFormats = new Map<string, Intl.DateTimeFormat>();
/** HH:mm, 24-hour, in `timeZone`. */
export function formatSmsTime(at: number, timeZone = 'Asia/Ho_Chi_Minh'): string {
  let f = timeFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('vi-VN', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    timeFormats.set(timeZone, f);
  }
  return f.format(at);
}

function coord(n: number): string {
  return String(Number(n.toFixed(6)));
}

/** One line-less sentence: whitespace runs (CSV cells may hold line breaks) become one space. */
function flat(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** The text of one message. */
export function smsText(msg: SmsMessage, opts: SmsTextOptions = {}): string {
  const t = TABLES[opts.lang ?? 'vi'];
  const tz = opts.timeZone ?? 'Asia/Ho_Chi_Minh';
  const drill = opts.drill === true || ('kind' in msg && msg.kind === 'drill');
  const finish = (text: string): string => {
    const marked = drill ? fill(t.drill, { text }) : text;
    return opts.unaccented ? toUnaccentedGsm7(marked) : marked;
  };
  switch (msg.id) {
    case 'pre-alarm':
      return finish(fill(t['pre-alarm'], { time: formatSmsTime(msg.at, tz), what: fill(t[`own.${msg.kind}`], { address: flat(msg.address) }) }));
    case 'active':
      return finish(
        fill(t[msg.nearby ? 'active.nearby' : 'active'], {
          time: formatSmsTime(msg.at, tz),
          name: flat(msg.name),
          what: fill(t[`at.${msg.kind}`], { address: flat(msg.address) }),
          codes: t.codes,
        }),
      );
    case 'dispatch-card':
      return dispatchCard(msg, t, tz, finish, opts.unaccented === true);
    case 'acknowledged':
      return finish(fill(t.acknowledged, { address: flat(msg.address) }));
    case 'dispatched': {
      const main =
        msg.etaMin !== undefined
          ? fill(t['dispatched.eta'], { address: flat(msg.address), eta: String(Math.max(1, Math.round(msg.etaMin))) })
          : fill(t.dispatched, { address: flat(msg.address) });
      const note = msg.note !== undefined && flat(msg.note) !== '' ? fill(t['dispatched.note'], { note: flat(msg.note) }) : null;
      return finish(note === null ? main : `${main} ${note}`);
    }
    case 'hushed':
    case 'cancelled':
      return finish(fill(t[msg.id], { name: flat(msg.name), address: flat(msg.address) }));
    case 'resolved':
      return finish(fill(t.resolved, { name: flat(msg.name), address: flat(msg.address), time: formatSmsTime(msg.at, tz) }));
    case 'reply-ack':
      return finish(fill(t[`ack.${msg.code}`], { address: flat(msg.address) }));
    case 'reply-closed':
      return finish(fill(t['reply-closed'], { address: flat(msg.address) }));
    case 'help-unknown-code':
    case 'help-unknown-number':
      return finish(t[msg.id]);
  }
}

type CardMessage = Extract<SmsMessage, { id: 'dispatch-card' }>;

/**
 * The card within CARD_MAX_PARTS: the fields (most important first) follow the household line.
 * When it is too long, values are shortened in CARD_CUT_ORDER, each one before the next is
 * touched: a value keeps its longest prefix that fits (at least CARD_MIN_KEPT characters) and
 * ends in "…"; a card field that cannot keep that much is left out and a final "…" says so.
 */
function dispatchCard(msg: CardMessage, t: Record<Key, string>, tz: string, finish: (s: string) => string, unaccented: boolean): string {
  const values = new Map<CardField | 'name' | 'address', string | null>(); // null: left out
  values.set('name', flat(msg.name));
  values.set('address', flat(msg.address));
  for (const f of CARD_FIELD_ORDER) values.set(f, flat(msg.card[f] ?? ''));
  const location = msg.lat !== null && msg.lon !== null ? fill(t['card.geo'], { lat: coord(msg.lat), lon: coord(msg.lon) }) : t['card.no-geo'];
  const render = (): string => {
    const items = [location];
    let leftOut = false;
    for (const f of CARD_FIELD_ORDER) {
      const v = values.get(f);
      if (v === null) leftOut = true;
      else if (v !== '') items.push(fill(t[`card.${f}`], { value: v! }));
    }
    if (leftOut) items.push(ELLIPSIS);
    // Items end with "." unless they end with "…" already.
    const details = items.map((x, i) => (x.endsWith(ELLIPSIS) ? x : x + '.') + (i < items.length - 1 ? ' ' : '')).join('');
    return finish(
      fill(t.card, {
        kind: t[`kind.${msg.kind}`],
        time: formatSmsTime(msg.at, tz),
        name: values.get('name')!,
        household: msg.household,
        address: values.get('address')!,
        details,
      }),
    );
  };
  const fits = () => smsParts(render(), { unaccented }) <= CARD_MAX_PARTS;
  if (fits()) return render();
  const cut = (chars: string[], n: number) =>
    chars
      .slice(0, n)
      .join('')
      .replace(/[\s,;:.\-]+$/, '') + ELLIPSIS;
  for (const key of CARD_CUT_ORDER) {
    const full = values.get(key)!;
    if (full === null || full === '') continue;
    const chars = Array.from(full);
    // The longest prefix that fits (binary search).
    let lo = Math.min(CARD_MIN_KEPT, chars.length - 1);
    let hi = chars.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      values.set(key, cut(chars, mid));
      if (fits()) {
        best = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (best >= 0) {
      values.set(key, cut(chars, best));
      return render();
    }
    values.set(key, key === 'name' || key === 'address' ? ELLIPSIS : null);
    if (fits()) return render();
  }
  // Still too long (a very long household id): cut the finished text itself.
  const all = Array.from(render());
  const mark = unaccented ? toUnaccentedGsm7(ELLIPSIS) : ELLIPSIS;
  let n = all.length;
  while (n > 0 && smsParts(all.slice(0, n).join('') + mark, { unaccented }) > CARD_MAX_PARTS) n--;
  return all.slice(0, n).join('') + mark;
}

/** The alphabet a text goes out in: GSM-7 when every character has a GSM-7 form, otherwise UCS-2. */
export function smsAlphabet(text: string): SmsAlphabet {
  return isGsm7(text) ? 'gsm7' : 'ucs2';
}

/**
 * How many SMS parts `text` takes: UCS-2 70 code units (67 per part when concatenated), GSM-7 160
 * septets (153 per part; an extension character such as `€` or `[` takes 2 and never straddles two
 * parts). `unaccented`: the count of the text as sent in the unaccented mode (diacritics dropped
 * first). GSM-7 is assumed whenever the text allows it.
 */
export function smsParts(text: string, opts: { unaccented?: boolean } = {}): number {
  const sent = opts.unaccented ? toUnaccentedGsm7(text) : text;
  return splitForSms(sent, smsAlphabet(sent)).length;
}
