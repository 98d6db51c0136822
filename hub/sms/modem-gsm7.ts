/**
 * The GSM 7-bit default alphabet and its extension table (3GPP TS 23.038 §6.2.1, §6.2.1.1), septet
 * packing with fill bits (3GPP TS 23.040 §9.2.3.24: a UDH is padded to a septet boundary), and
 * the "unaccented" transliteration Vietnamese SMS commonly use (không dấu: diacritics dropped,
 * đ→d). Pure.
 */

/** Basic table: index = septet value. 0x1B is the escape to the extension table. */
const BASIC = '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' + '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';

/** Extension table (after ESC): septet → character. */
const EXTENSION: ReadonlyArray<readonly [number, string]> = [
  [0x0a, '\f'],
  [0x14, '^'],
  [0x28, '{'],
  [0x29, '}'],
  [0x2f, '\\'],
  [0x3c, '['],
  [0x3d, '~'],
  [0x3e, ']'],
  [0x40, '|'],
  [0x65, '€'],
];

export const GSM7_ESCAPE = 0x1b;
const basicIndex = new Map<string, number>();
for (let i = 0; i < BASIC.length; i++) if (i !== GSM7_ESCAPE) basicIndex.set(BASIC[i]!, i);
const extIndex = new Map<string, number>(EXTENSION.map(([v, c]) => [c, v]));
const extChar = new Map<number, string>(EXTENSION);

if (BASIC.length !== 128) throw new Error(`GSM-7 basic table has ${BASIC.length} entries`);

/** Septets one character takes in GSM-7 (1, 2 with the escape) or null if it has none. */
export function gsm7Septets(ch: string): 1 | 2 | null {
  if (basicIndex.has(ch)) return 1;
  if (extIndex.has(ch)) return 2;
  return null;
}

/** True when every character of `text` has a GSM-7 encoding. */
export function isGsm7(text: string): boolean {
  for (const ch of text) if (gsm7Septets(ch) === null) return false;
  return true;
}

/** Septet values of `text` (escape sequences included). Throws on a character without one. */
export function toSeptets(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) {
    const b = basicIndex.get(ch);
    if (b !== undefined) {
      out.push(b);
      continue;
    }
    const e = extIndex.get(ch);
    if (e === undefined) throw new RangeError(`no GSM-7 encoding for U+${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`);
    out.push(GSM7_ESCAPE, e);
  }
  return out;
}

/** Text of septet values; an unknown extension code reads as its basic character (TS 23.038 note). */
export function fromSeptets(septets: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < septets.length; i++) {
    const v = septets[i]! & 0x7f;
    if (v === GSM7_ESCAPE) {
      const next = septets[i + 1];
      if (next === undefined) break; // a dangling escape at the end of a part
      i++;
      s += extChar.get(next & 0x7f) ?? BASIC[next & 0x7f];
      continue;
    }
    s += BASIC[v];
  }
  return s;
}

/**
 * Packs septets LSB first after `headerOctets` (the UDHL + UDH, already bytes), inserting the fill
 * bits that align the first septet to a septet boundary. Returns the octets.
 */
export function packSeptets(septets: ArrayLike<number>, headerOctets: ArrayLike<number> = []): Uint8Array {
  const headerBits = headerOctets.length * 8;
  const startBit = Math.ceil(headerBits / 7) * 7; // header + fill bits
  const totalBits = startBit + septets.length * 7;
  const out = new Uint8Array(Math.ceil(totalBits / 8));
  for (let i = 0; i < headerOctets.length; i++) out[i] = headerOctets[i]!;
  for (let i = 0; i < septets.length; i++) {
    const bit = startBit + i * 7;
    const v = (septets[i]! & 0x7f) << (bit & 7);
    out[bit >> 3]! |= v & 0xff;
    if (v > 0xff) out[(bit >> 3) + 1]! |= v >> 8;
  }
  return out;
}

/** Reads `count` septets starting at septet index `skipSeptets` (the header's septets incl. fill). */
export function unpackSeptets(octets: ArrayLike<number>, count: number, skipSeptets = 0): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const bit = (skipSeptets + i) * 7;
    const lo = octets[bit >> 3];
    if (lo === undefined) break;
    const hi = octets[(bit >> 3) + 1] ?? 0;
    out.push(((lo | (hi << 8)) >> (bit & 7)) & 0x7f);
  }
  return out;
}

/** Punctuation that has no GSM-7 form but a plain equivalent. */
const PLAIN: Record<string, string> = {
  '\u2018': "'",
  '\u2019': "'",
  '\u201a': "'",
  '\u201c': '"',
  '\u201d': '"',
  '\u201e': '"',
  '\u2013': '-',
  '\u2014': '-',
  '\u2212': '-',
  '\u2026': '...',
  '\u00a0': ' ',
  '\u2022': '*',
  '\u00b0': 'o',
  '\u00ab': '"',
  '\u00bb': '"',
  '\t': ' ',
};

/**
 * Vietnamese without diacritics, as GSM-7 text: every mark dropped (ế→e, ư→u, ơ→o), đ→d, Đ→D,
 * common typographic punctuation made plain, anything still without a GSM-7 form → '?'.
 * The result always satisfies isGsm7().
 */
export function toUnaccentedGsm7(text: string): string {
  const stripped = text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'D')
    .normalize('NFC');
  let out = '';
  for (const ch of stripped) {
    if (gsm7Septets(ch) !== null) out += ch;
    else out += PLAIN[ch] ?? '?';
  }
  return out;
}
