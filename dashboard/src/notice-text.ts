/**
 * A hub notice in the reader's language, from its id (`notice`) and `params`. Pure. The hub's
 * English `text` is the fallback: for a notice id this dashboard does not know, a notice stored
 * before notices carried params, or params missing what the sentence needs.
 */
import type { Notice } from '../../hub/protocol/schema.ts';
import { formatDay } from './format.ts';
import { DICTIONARIES, translate, type Lang, type MsgKey } from './i18n.ts';

type Params = Record<string, string | number>;

function has(key: string): key is MsgKey {
  return key in DICTIONARIES.en;
}
/** `prefix.value` translated when known, else the value itself (ids, names). */
function word(lang: Lang, prefix: string, value: unknown): string {
  const key = `${prefix}.${String(value)}`;
  return has(key) ? translate(lang, key) : String(value);
}
/** An ISO day (YYYY-MM-DD) as the language writes dates (dd/mm/yyyy); anything else unchanged. */
const day = formatDay;

/** Which sentence of a notice id, and the words it needs. Null: not renderable (use the fallback). */
function sentence(lang: Lang, id: string, p: Params, device: string | null): { key: MsgKey; vars: Params } | null {
  const vars: Params = { ...p, device: device ?? '' };
  if (p.kind !== undefined) vars.kind = word(lang, 'noticeKind', p.kind);
  switch (id) {
    case 'offline':
      vars.reason = translate(lang, has(`noticeReason.${p.reason}`) ? (`noticeReason.${p.reason}` as MsgKey) : 'noticeReason.unknown', p);
      return { key: p.after === 'flapping' ? 'noticeText.offline.flapping' : 'noticeText.offline', vars };
    case 'restored':
      return { key: p.stableMinutes !== undefined ? 'noticeText.restored.stable' : 'noticeText.restored', vars };
    case 'end-of-life':
      vars.replaceBy = day(lang, p.replaceBy);
      return { key: p.when === 'past' ? 'noticeText.end-of-life.past' : 'noticeText.end-of-life.soon', vars };
    case 'self-test-failed':
      return { key: p.reason === 'offline' ? 'noticeText.self-test-failed.offline' : 'noticeText.self-test-failed.no-answer', vars };
    case 'team-digest': {
      const parts: string[] = [];
      if (Number(p.lowBattery) > 0) parts.push(translate(lang, 'noticeText.team-digest.lowBattery', p));
      if (Number(p.endOfLife) > 0) parts.push(translate(lang, 'noticeText.team-digest.endOfLife', p));
      vars.parts = parts.join('; ');
      return { key: 'noticeText.team-digest', vars };
    }
    case 'equipment-expiring': {
      const left = Number(p.daysLeft);
      if (!Number.isFinite(left)) return null;
      vars.what = p.serial ? `${p.item} (${p.serial})` : String(p.item ?? '');
      vars.expires = day(lang, p.expires);
      return {
        key: left < 0 ? 'noticeText.equipment-expiring.past' : left === 0 ? 'noticeText.equipment-expiring.today' : 'noticeText.equipment-expiring.soon',
        vars,
      };
    }
    case 'equipment-digest':
      vars.expiredPart = Number(p.expired) > 0 ? translate(lang, 'noticeText.equipment-digest.expired', p) : '';
      vars.list = String(p.list ?? '').replace(/\d{4}-\d{2}-\d{2}/g, (d) => day(lang, d));
      return { key: 'noticeText.equipment-digest', vars };
    case 'daily-report':
      vars.date = day(lang, p.date);
      return { key: 'noticeText.daily-report', vars };
    case 'modem-trouble':
      vars.reason =
        word(lang, 'modemReason', p.reason) === String(p.reason) ? String(p.detail ?? p.reason ?? '') : translate(lang, `modemReason.${p.reason}` as MsgKey, p);
      return { key: 'noticeText.modem-trouble', vars };
    default: {
      const key = `noticeText.${id}`;
      return has(key) ? { key, vars } : null;
    }
  }
}

/** The notice's sentence in `lang`; the hub's English text when it cannot be said from id and params. */
export function noticeText(lang: Lang, n: Pick<Notice, 'notice' | 'text' | 'device' | 'params'>): string {
  // Notices without params are either parameterless (journal recovered, modem up need only ids) or old.
  const p = n.params ?? (n.notice === 'hub-journal-recovered' ? {} : null);
  if (!p) return n.text;
  const s = sentence(lang, n.notice, p, n.device);
  if (!s) return n.text;
  const out = translate(lang, s.key, s.vars);
  // A placeholder left over means params lacked something: the English sentence is better than a hole.
  return /\{\w+[,}]/.test(out) ? n.text : out;
}
