/** The dispatch card: what the fire brigade needs to know about a household (from the registry's optional columns). */
import { CARD_FIELDS, type HouseholdCard } from '../../../hub/protocol/http/households.ts';
import { t } from '../store.ts';
import type { MsgKey } from '../i18n.ts';

const ICON: Record<string, string> = { access: '⇥', hazards: '⚠', vulnerable: '♿︎', water: '≈' };

export function DispatchCardView({ card }: { card: HouseholdCard | null }) {
  const filled = card ? CARD_FIELDS.filter((f) => card[f].trim() !== '') : [];
  return (
    <section class="dispatch-card" aria-label={t('card.title')}>
      <h4>{t('card.title')}</h4>
      {!card || filled.length === 0 ? (
        <p class="muted card-empty">{t('card.empty')}</p>
      ) : (
        <dl class="card-fields">
          {CARD_FIELDS.map((f) => (
            <div key={f} class={`card-${f}`} data-field={f}>
              <dt>
                <span aria-hidden="true">{ICON[f]} </span>
                {t(`card.${f}` as MsgKey)}
              </dt>
              <dd class={card[f].trim() ? '' : 'muted'}>{card[f].trim() || t('card.unknown')}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}
