/** States told by text, icon and colour together. */
import type { AlarmKind, AlarmState, NoticeSeverity } from '../../../hub/protocol/schema.ts';
import type { DeviceInfo } from '../api.ts';
import { STATE_ICON } from '../format.ts';
import { shownStatus, type ShownStatus } from '../health-rows.ts';
import { expiryState, type ExpiryState } from '../readiness.ts';
import { t } from '../store.ts';
import type { MsgKey } from '../i18n.ts';

export function StateBadge({ state, falseAlarm, drill }: { state: AlarmState; falseAlarm?: boolean; drill?: boolean }) {
  // A running drill is not "burning": it says so in the drill's colour.
  if (drill && (state === 'active' || state === 'escalated' || state === 'pre-alarm')) {
    return (
      <span class="badge state-drill" data-state={state}>
        <span aria-hidden="true">◎ </span>
        {t('drills.running')}
      </span>
    );
  }
  if (falseAlarm) {
    return (
      <span class="badge state-false" data-state="false-alarm">
        <span aria-hidden="true">↺ </span>
        {t('state.falseAlarm')}
      </span>
    );
  }
  return (
    <span class={`badge state-${state}`} data-state={state}>
      <span aria-hidden="true">{STATE_ICON[state]} </span>
      {t(`state.${state}` as MsgKey)}
    </span>
  );
}

const KIND_ICON: Record<AlarmKind, string> = { smoke: '≋', heat: '♨', co: '☁', gas: '⛽', panic: '⚠', drill: '◎' };
export function KindBadge({ kind }: { kind: AlarmKind }) {
  return (
    <span class="badge kind">
      <span aria-hidden="true">{KIND_ICON[kind] ?? '•'} </span>
      {t(`kind.${kind}` as MsgKey)}
    </span>
  );
}

const DEVICE_ICON: Record<ShownStatus, string> = { fault: '⚠', flapping: '⇅', offline: '○', unknown: '?', online: '●' };
export function DeviceStatusBadge({ device }: { device: DeviceInfo }) {
  const shown = shownStatus(device);
  return (
    <span class={`badge dev-${shown}`} data-status={shown}>
      <span aria-hidden="true">{DEVICE_ICON[shown]} </span>
      {t(`status.${shown}` as MsgKey)}
    </span>
  );
}

const SEVERITY_ICON: Record<NoticeSeverity, string> = { info: 'ℹ', warning: '⚠', trouble: '✖' };
export function SeverityBadge({ severity }: { severity: NoticeSeverity }) {
  return (
    <span class={`badge sev-${severity}`}>
      <span aria-hidden="true">{SEVERITY_ICON[severity]} </span>
      {t(`severity.${severity}` as MsgKey)}
    </span>
  );
}

const EXPIRY_ICON: Record<ExpiryState, string> = { expired: '✕', expiring: '⚠', ok: '✓', none: '∞' };
/** An item's expiry: red "expired N days ago", amber "expires in N days" (within the reminder's horizon), green "in date". */
export function ExpiryBadge({ daysLeft, horizonDays }: { daysLeft: number | null; horizonDays: number }) {
  const state = expiryState(daysLeft, horizonDays);
  const text =
    state === 'expired'
      ? t('equipment.state.expired', { n: -(daysLeft ?? 0) })
      : state === 'expiring'
        ? daysLeft === 0
          ? t('equipment.state.today')
          : t('equipment.state.expiring', { n: daysLeft ?? 0 })
        : t(`equipment.state.${state}` as MsgKey);
  return (
    <span class={`badge eq-${state}`} data-expiry={state}>
      <span aria-hidden="true">{EXPIRY_ICON[state]} </span>
      {text}
    </span>
  );
}
