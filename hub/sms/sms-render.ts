/**
 * Turns a planned message (hub/core/sms-plan.ts) into its text for one alarm view (pure).
 */
import type { AlarmView } from '../protocol/schema.ts';
import type { MessageId } from '../core/sms-plan.ts';
import { smsText, type SmsLanguage, type SmsMessage } from './sms-texts.ts';
import type { HouseholdCard } from '../store/registry-types.ts';

export interface RenderOptions {
  lang: SmsLanguage;
  unaccented: boolean;
  timeZone: string;
  /** The origin household's dispatch card (access, hazards, vulnerable, water). */
  card: HouseholdCard;
}

export function messageFor(id: MessageId, view: AlarmView, card: HouseholdCard): SmsMessage {
  const { name, address, lat, lon, household } = view.origin;
  switch (id) {
    case 'pre-alarm':
      return { id: 'pre-alarm', kind: view.kind, address, at: view.raisedAt };
    case 'active':
    case 'active-nearby':
      return { id: 'active', kind: view.kind, name, address, at: view.raisedAt, nearby: id === 'active-nearby' };
    case 'dispatch-card':
      return { id: 'dispatch-card', kind: view.kind, household, name, address, lat, lon, card, at: view.raisedAt };
    case 'hushed':
      return { id: 'hushed', name, address };
    case 'dispatched':
      return {
        id: 'dispatched',
        address,
        ...(view.dispatch?.etaMin !== undefined ? { etaMin: view.dispatch.etaMin } : {}),
        ...(view.dispatch?.note ? { note: view.dispatch.note } : {}),
      };
    case 'stand-down':
      return view.state === 'cancelled' ? { id: 'cancelled', name, address } : { id: 'resolved', name, address, at: view.updatedAt };
  }
}

export function renderSms(id: MessageId, view: AlarmView, o: RenderOptions): string {
  return smsText(messageFor(id, view, o.card), { lang: o.lang, unaccented: o.unaccented, drill: view.kind === 'drill', timeZone: o.timeZone });
}
