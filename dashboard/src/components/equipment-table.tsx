/** A household's fire equipment: each item, its serial, its expiry (dd/mm/yyyy) and a badge for its state. */
import { ExpiryBadge } from './badges.tsx';
import { formatDay } from '../format.ts';
import { DICTIONARIES, type MsgKey } from '../i18n.ts';
import { expiryState, sortEquipment, type Equipment } from '../readiness.ts';
import { getState, t } from '../store.ts';

/** A common item name (extinguisher, crowbar…) in the reader's language; anything else as the station wrote it. */
export function equipmentName(item: string): string {
  const key = `equipmentItem.${item.trim().toLowerCase()}`;
  return key in DICTIONARIES.en ? t(key as MsgKey) : item;
}

export function EquipmentTable({ items, horizonDays }: { items: readonly Omit<Equipment, 'household' | 'team'>[]; horizonDays: number }) {
  const lang = getState().lang;
  if (items.length === 0) return <p class="muted no-equipment">{t('household.noEquipment')}</p>;
  return (
    <>
      <table class="equipment">
        <thead>
          <tr>
            <th scope="col">{t('equipment.col.item')}</th>
            <th scope="col">{t('equipment.col.serial')}</th>
            <th scope="col">{t('equipment.col.expires')}</th>
            <th scope="col">{t('equipment.col.state')}</th>
          </tr>
        </thead>
        <tbody>
          {sortEquipment(items).map((e) => (
            <tr key={`${e.item}\u0000${e.serial}`} data-expiry={expiryState(e.daysLeft, horizonDays)}>
              <td data-item={e.item}>{equipmentName(e.item)}</td>
              <td>{e.serial ? <span class="id">{e.serial}</span> : '—'}</td>
              <td class="eq-date">{e.expires === null ? <span class="muted">{t('equipment.never')}</span> : formatDay(lang, e.expires)}</td>
              <td>
                <ExpiryBadge daysLeft={e.daysLeft} horizonDays={horizonDays} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted eq-legend">{t('equipment.horizon', { n: horizonDays })}</p>
    </>
  );
}
