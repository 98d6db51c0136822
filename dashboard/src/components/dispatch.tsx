/**
 * The fire station's side of an alarm: what the station did ("Fire truck on its way · ~7 min") and,
 * for station users, the two buttons: Acknowledge, and Dispatch (asks for an ETA and a note).
 */
import { useState } from 'preact/hooks';
import type { AlarmView, Dispatch } from '../../../hub/protocol/schema.ts';
import * as api from '../api.ts';
import { formatClock } from '../format.ts';
import { getState, t } from '../store.ts';
import { ErrorBox } from './error-box.tsx';
import { TruckIcon } from './icons.tsx';

/** "Xe chữa cháy đang đến · ~7 phút" / "Đội chữa cháy đã tiếp nhận" (null when the station did nothing yet). */
export function dispatchHeadline(d: Dispatch | null | undefined): string | null {
  if (!d) return null;
  if (d.state === 'dispatched')
    return d.etaMin !== undefined ? `${t('dispatch.dispatched')} · ${t('dispatch.eta', { n: d.etaMin })}` : t('dispatch.dispatched');
  return t('dispatch.acknowledged');
}

export function DispatchStatus({ dispatch }: { dispatch: Dispatch | null | undefined }) {
  const headline = dispatchHeadline(dispatch);
  if (!dispatch || !headline) return null;
  return (
    <div class={`dispatch-status dispatch-${dispatch.state}`} data-dispatch={dispatch.state} role="status">
      <strong>
        {dispatch.state === 'dispatched' ? <TruckIcon /> : <span aria-hidden="true">✓</span>} {headline}
      </strong>
      <span class="muted"> — {t('dispatch.byAt', { by: dispatch.by, at: formatClock(getState().lang, dispatch.at) })}</span>
      {dispatch.note && <span class="dispatch-note"> · “{dispatch.note}”</span>}
    </div>
  );
}

const MAX_ETA = 240;
const MAX_NOTE = 200;

/** Acknowledge and Dispatch, for station users on an open (non-drill) alarm. */
export function DispatchActions({ view }: { view: AlarmView }) {
  const [asking, setAsking] = useState(false);
  const [eta, setEta] = useState('');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [invalid, setInvalid] = useState(false);
  const d = view.dispatch ?? null;

  const acknowledge = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.acknowledgeAlarm(view.alarm);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const dispatch = async (e: Event) => {
    e.preventDefault();
    const text = eta.trim();
    const minutes = text === '' ? undefined : Number(text);
    if (minutes !== undefined && (!Number.isFinite(minutes) || minutes < 0 || minutes > MAX_ETA)) {
      setInvalid(true);
      return;
    }
    setInvalid(false);
    setBusy(true);
    setError(null);
    try {
      // One line: the hub refuses control characters in the note.
      const oneLine = note
        .replace(/[\u0000-\u001f]+/g, ' ')
        .trim()
        .slice(0, MAX_NOTE);
      await api.dispatchAlarm(view.alarm, { ...(minutes !== undefined ? { etaMin: Math.round(minutes) } : {}), ...(oneLine ? { note: oneLine } : {}) });
      setAsking(false);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="dispatch-actions">
      {!asking ? (
        <>
          {!d && (
            <button type="button" class="btn" data-action="acknowledge" disabled={busy} onClick={() => void acknowledge()}>
              <span aria-hidden="true">✓ </span>
              {t('board.acknowledge')}
            </button>
          )}
          <button
            type="button"
            class="btn primary"
            data-action="dispatch"
            disabled={busy}
            onClick={() => {
              setEta(d?.etaMin !== undefined ? String(d.etaMin) : '');
              setNote(d?.note ?? '');
              setAsking(true);
            }}
          >
            <span aria-hidden="true">➜ </span>
            {d?.state === 'dispatched' ? t('dispatch.update') : t('board.dispatchTruck')}
          </button>
        </>
      ) : (
        <form class="dispatch-form" onSubmit={(e) => void dispatch(e)}>
          <label>
            {t('dispatch.etaLabel')}
            <input
              name="etaMin"
              type="number"
              inputMode="numeric"
              min={0}
              max={MAX_ETA}
              step={1}
              value={eta}
              onInput={(e) => setEta((e.target as HTMLInputElement).value)}
              aria-invalid={invalid}
            />
          </label>
          <label class="grow">
            {t('dispatch.noteLabel')}
            <input
              name="note"
              type="text"
              maxLength={MAX_NOTE}
              value={note}
              placeholder={t('dispatch.notePlaceholder')}
              onInput={(e) => setNote((e.target as HTMLInputElement).value)}
            />
          </label>
          <button type="submit" class="btn primary" data-action="confirm-dispatch" disabled={busy}>
            {t('dispatch.send')}
          </button>
          <button type="button" class="btn ghost" disabled={busy} onClick={() => setAsking(false)}>
            {t('dispatch.cancel')}
          </button>
          {invalid && (
            <p class="error-box" role="alert">
              {t('dispatch.etaInvalid')}
            </p>
          )}
        </form>
      )}
      <ErrorBox error={error} />
    </div>
  );
}
