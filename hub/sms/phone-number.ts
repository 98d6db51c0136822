/**
 * Phone numbers as the registry's CSV holds them, normalised to E.164 (`+84901000002`). Pure.
 *
 * One number:
 * - spaces, dots, dashes and parentheses are ignored (`0901 000.002`, `(0234) 3822-111`);
 * - `0…` is a local number: the trunk 0 is replaced by the country code (`--country-code`,
 *   default 84): `0901000002` → `+84901000002`;
 * - `+…` and `00…` are international: `+84 901 000 002`, `0084901000002`; a `(0)` after the
 *   country code is dropped (`+84 (0)901 000 002`);
 * - digits starting with the country code are international without the `+` (`84901000002`);
 * - anything else (letters, a number without a leading 0 or +, more than 15 digits, fewer than 7)
 *   is refused with a reason. Vietnamese numbers (+84) are checked against the national plan:
 *   9 digits after +84 (mobile) or 10 (landline, area code included). A number that lost its
 *   leading 0 in a spreadsheet (`901000002`) is refused, not guessed.
 * A list holds several numbers separated by `;` (at most MAX_PHONES); duplicates are dropped.
 */

export const DEFAULT_COUNTRY_CODE = 84;
/** At most this many numbers per household (each gets every alarm text). */
export const MAX_PHONES = 8;
export const PHONE_LIST_SEPARATOR = ';';

/** E.164: a `+`, a country code not starting with 0, at most 15 digits in all (here at least 7). */
const E164 = /^\+[1-9]\d{6,14}$/;
const ALLOWED = /^[0-9+ .\-()\t\u00a0]*$/;
const IGNORED = /[ .\-()\t\u00a0]/g;

/** National numbering plans the hub knows: digits after the country code. */
const NATIONAL_LENGTHS: Record<string, { min: number; max: number; name: string; example: string }> = {
  '84': { min: 9, max: 10, name: 'a Vietnamese number', example: '0912 345 678 or +84 912 345 678' },
};

export type PhoneResult = { ok: true; e164: string } | { ok: false; reason: string };
export type PhoneListResult = { ok: true; phones: string[] } | { ok: false; reasons: string[] };

export function isE164(s: string): boolean {
  return E164.test(s);
}

/** Validates a country calling code (1–999). */
export function isCountryCode(cc: number): boolean {
  return Number.isInteger(cc) && cc >= 1 && cc <= 999;
}

/** One number to E.164. `reason` completes a sentence starting with the number ("is too short"). */
export function normalisePhone(raw: string, countryCode: number = DEFAULT_COUNTRY_CODE): PhoneResult {
  if (!isCountryCode(countryCode)) throw new RangeError(`country code must be an integer 1..999, got ${countryCode}`);
  const s = raw.trim();
  if (s === '') return { ok: false, reason: 'is empty' };
  if (!ALLOWED.test(s)) {
    if (/[,/]/.test(s)) return { ok: false, reason: 'holds "," or "/": separate several numbers with ";"' };
    if (/[a-z]/i.test(s)) return { ok: false, reason: 'holds letters; write the number only (digits, spaces, "+", ".", "-", "( )")' };
    return { ok: false, reason: 'may hold only digits, spaces, "+", ".", "-" and "( )"' };
  }
  let compact = s.replace(/^(\+|00)\s*(\d{1,3})\s*\(0\)/, '$1$2').replace(IGNORED, '');
  if (compact.lastIndexOf('+') > 0) return { ok: false, reason: 'has a "+" that is not at the start' };
  let international: string;
  if (compact.startsWith('+')) international = compact.slice(1);
  else if (compact.startsWith('00')) international = compact.slice(2);
  else if (compact.startsWith('0')) international = `${countryCode}${compact.slice(1)}`;
  else if (compact.startsWith(String(countryCode))) international = compact;
  else {
    return {
      ok: false,
      reason: `has no leading 0 (a local number) or + (an international one); if a spreadsheet dropped the leading 0, write 0${compact}`,
    };
  }
  compact = international;
  if (compact === '' || !/^\d+$/.test(compact)) return { ok: false, reason: 'has no digits after the "+"' };
  if (compact.startsWith('0')) return { ok: false, reason: 'has a country code starting with 0' };
  if (compact.length > 15) return { ok: false, reason: `is too long: ${compact.length} digits with the country code, E.164 allows at most 15` };
  if (compact.length < 7) return { ok: false, reason: `is too short: ${compact.length} digits with the country code` };
  for (const [cc, plan] of Object.entries(NATIONAL_LENGTHS)) {
    if (!compact.startsWith(cc)) continue;
    const national = compact.slice(cc.length);
    if (national.startsWith('0')) return { ok: false, reason: `has a 0 after +${cc}; write ${plan.example}` };
    if (national.length < plan.min || national.length > plan.max) {
      return {
        ok: false,
        reason: `is not ${plan.name}: ${national.length} digits after +${cc}, expected ${plan.min === plan.max ? plan.min : `${plan.min}–${plan.max}`} (${plan.example})`,
      };
    }
  }
  return { ok: true, e164: `+${compact}` };
}

/** A `;`-separated list (blank: no numbers). Every bad part is reported, quoted. */
export function parsePhoneList(raw: string, countryCode: number = DEFAULT_COUNTRY_CODE): PhoneListResult {
  if (raw.trim() === '') return { ok: true, phones: [] };
  const parts = raw.split(PHONE_LIST_SEPARATOR);
  const reasons: string[] = [];
  const phones: string[] = [];
  parts.forEach((part, i) => {
    if (part.trim() === '') {
      reasons.push(`phone has an empty number (part ${i + 1} of ${parts.length}); separate numbers with a single ";"`);
      return;
    }
    const r = normalisePhone(part, countryCode);
    if (!r.ok) reasons.push(`phone ${quote(part.trim())} ${r.reason}`);
    else if (!phones.includes(r.e164)) phones.push(r.e164);
  });
  if (reasons.length === 0 && phones.length > MAX_PHONES) reasons.push(`phone lists ${phones.length} numbers; at most ${MAX_PHONES}`);
  return reasons.length > 0 ? { ok: false, reasons } : { ok: true, phones };
}

/** Best effort for numbers stored before they were validated: the valid ones, bad parts skipped. */
export function validPhones(raw: string, countryCode: number = DEFAULT_COUNTRY_CODE): string[] {
  const out: string[] = [];
  for (const part of raw.split(PHONE_LIST_SEPARATOR)) {
    if (part.trim() === '') continue;
    const r = normalisePhone(part, countryCode);
    if (r.ok && !out.includes(r.e164) && out.length < MAX_PHONES) out.push(r.e164);
  }
  return out;
}

function quote(v: string): string {
  return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
}
