/**
 * The phone view's "alerts on this phone" box: turn notifications on (the permission is asked on the
 * tap, after the sentence that says why), put the page on the home screen, and — always shown — what
 * the page cannot do: a closed browser gets no alert from it; the hub's SMS and calls do that.
 * It also takes the page to the alarm a tapped notification named (`#/phone?alarm=<id>`).
 */
import { useEffect, useState } from 'preact/hooks';
import { askPermission, canInstall, install, isInstalled, notifyPermission, notifySupport, onNotifyChange } from '../notify.ts';
import { t } from '../store.ts';

function alarmInHash(): string | null {
  const q = location.hash.split('?')[1];
  return q ? new URLSearchParams(q).get('alarm') : null;
}

/** Scrolls to the alarm named in the hash once it is on the page, and focuses it. */
function useAlarmFromHash(): void {
  useEffect(() => {
    let timer: ReturnType<typeof setInterval> | null = null;
    const go = () => {
      if (timer) clearInterval(timer);
      const id = alarmInHash();
      if (!id) return;
      let tries = 0;
      timer = setInterval(() => {
        const el = document.querySelector<HTMLElement>(`.phone-alert[data-alarm="${CSS.escape(id)}"]`);
        if (el || ++tries > 50) {
          if (timer) clearInterval(timer);
          timer = null;
        }
        if (el) {
          el.scrollIntoView({ block: 'start' });
          el.tabIndex = -1;
          el.focus({ preventScroll: true });
        }
      }, 100);
    };
    go();
    window.addEventListener('hashchange', go);
    return () => {
      window.removeEventListener('hashchange', go);
      if (timer) clearInterval(timer);
    };
  }, []);
}

export function PhoneNotifyPanel() {
  const [, setTick] = useState(0);
  const [asking, setAsking] = useState(false);
  useEffect(() => onNotifyChange(() => setTick((n) => n + 1)), []);
  useAlarmFromHash();
  const support = notifySupport();
  const permission = notifyPermission();

  const ask = async () => {
    setAsking(true);
    try {
      await askPermission();
    } finally {
      setAsking(false);
    }
  };

  return (
    <section class="phone-notify" aria-labelledby="phone-notify-title" data-permission={permission ?? 'none'} data-support={support}>
      <h2 id="phone-notify-title" class="phone-notify-title">
        {t('notify.title')}
      </h2>
      {support === 'insecure' && <p class="phone-notify-state warn">{t('notify.insecure')}</p>}
      {support === 'unsupported' && <p class="phone-notify-state warn">{t('notify.unsupported')}</p>}
      {support === 'ok' && permission === 'granted' && (
        <p class="phone-notify-state ok" role="status">
          <span aria-hidden="true">✓ </span>
          {t('notify.on')}
        </p>
      )}
      {support === 'ok' && permission === 'denied' && <p class="phone-notify-state warn">{t('notify.denied')}</p>}
      {support === 'ok' && permission === 'default' && (
        <>
          <p class="phone-notify-why">{t('notify.why')}</p>
          <button type="button" class="btn huge" data-action="enable-notifications" disabled={asking} onClick={() => void ask()}>
            <span aria-hidden="true">▶ </span>
            {t('notify.enable')}
          </button>
        </>
      )}
      {!isInstalled() &&
        (canInstall() ? (
          <button type="button" class="btn" data-action="install-app" onClick={() => void install()}>
            <span aria-hidden="true">⊕ </span>
            {t('notify.install')}
          </button>
        ) : (
          <p class="muted phone-install-hint">{t('notify.installHint')}</p>
        ))}
      <p class="phone-limits" data-limits="closed-browser">
        <span aria-hidden="true">⚠ </span>
        {t('notify.limits')}
      </p>
    </section>
  );
}
