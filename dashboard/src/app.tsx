/** The application shell: routing by role, header with navigation, language, sound and connection state. */
import { FlameIcon, LogoutIcon } from './components/icons.tsx';
import { useEffect } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { alertingCount, updateAttention } from './alerting.ts';
import { useRoute, navigate, householdPath } from './router.ts';
import { homePath, logout } from './session.ts';
import { setLang, setSoundEnabled, t, useApp } from './store.ts';
import type { MsgKey } from './i18n.ts';
import { LoginPage } from './pages/login.tsx';
import { BoardPage } from './pages/board.tsx';
import { MapPage } from './pages/map.tsx';
import { HealthPage } from './pages/health.tsx';
import { ReadinessPage } from './pages/readiness.tsx';
import { HouseholdPage } from './pages/household.tsx';
import { HistoryPage } from './pages/history.tsx';
import { PhonePage } from './pages/phone.tsx';
import { DrillsPage } from './pages/drills.tsx';
import { useNow } from './hooks.ts';

function LangSwitch() {
  const { lang } = useApp();
  return (
    <button
      type="button"
      class="btn ghost"
      id="lang-switch"
      lang={lang === 'vi' ? 'en' : 'vi'}
      aria-label={t('lang.switchLabel')}
      onClick={() => setLang(lang === 'vi' ? 'en' : 'vi')}
    >
      <span class="bar-deco" aria-hidden="true">
        ⇄{' '}
      </span>
      <span class="bar-label">{t('lang.switch')}</span>
      <span class="bar-short" aria-hidden="true">
        {lang === 'vi' ? 'EN' : 'VI'}
      </span>
    </button>
  );
}

function LiveIndicator() {
  const { live } = useApp();
  const label: Record<string, MsgKey> = {
    online: 'live.online',
    connecting: 'live.connecting',
    reconnecting: 'live.reconnectingShort',
    idle: 'live.connecting',
  };
  const icon = live === 'online' ? '●' : '◌';
  return (
    <span class={`live-pill live-${live}`} role="status" aria-label={`${t('live.status')}: ${t(label[live]!)}`} data-live={live}>
      <span aria-hidden="true">{icon} </span>
      <span class="bar-label">{t(label[live]!)}</span>
    </span>
  );
}

function SoundToggle() {
  const { soundUnlocked, soundEnabled } = useApp();
  if (!soundUnlocked) {
    return (
      <button type="button" class="btn ghost warn" title={t('sound.needGesture')}>
        <span aria-hidden="true">♪ </span>
        <span class="bar-label">{t('sound.enable')}</span>
      </button>
    );
  }
  return (
    <button
      type="button"
      class="btn ghost"
      aria-pressed={soundEnabled}
      title={soundEnabled ? t('sound.on') : t('sound.off')}
      onClick={() => setSoundEnabled(!soundEnabled)}
    >
      <span aria-hidden="true">{soundEnabled ? '♪ ' : '✕ '}</span>
      <span class="bar-label">{soundEnabled ? t('sound.on') : t('sound.off')}</span>
    </button>
  );
}

function ReconnectBanner() {
  const { live, caughtUpAt } = useApp();
  const now = useNow(1000);
  if (live === 'reconnecting') {
    return (
      <div class="banner banner-warn" role="alert" id="reconnecting-banner">
        <span class="spinner" aria-hidden="true" /> {t('live.reconnecting')}
      </div>
    );
  }
  if (caughtUpAt && now - caughtUpAt < 5000) {
    return (
      <div class="banner banner-ok" role="status">
        <span aria-hidden="true">✓ </span>
        {t('live.caughtUp')}
      </div>
    );
  }
  return null;
}

function Shell({ children, current }: { children: ComponentChildren; current: string }) {
  const { user } = useApp();
  if (!user) return null;
  const links: [string, string, MsgKey][] =
    user.role === 'household'
      ? [
          ['phone', '/phone', 'nav.phone'],
          ['household', householdPath(user.household ?? ''), 'nav.myHousehold'],
          ['history', '/history', 'nav.history'],
        ]
      : [
          ['board', '/board', 'nav.board'],
          ['map', '/map', 'nav.map'],
          ['health', '/health', 'nav.health'],
          ['history', '/history', 'nav.history'],
          ['drills', '/drills', 'nav.drills'],
        ];
  return (
    <div class={`shell role-${user.role}`}>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        {t('app.skip')}
      </a>
      <header class="topbar">
        <span class="brand">
          <FlameIcon />
          <span class="bar-label">{t('app.name')}</span>
        </span>
        <nav aria-label={t('nav.main')}>
          {links.map(([name, path, key]) => (
            <a key={name} href={`#${path}`} class={current === name ? 'active' : ''} aria-current={current === name ? 'page' : undefined}>
              {t(key)}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        <LiveIndicator />
        <SoundToggle />
        <LangSwitch />
        <span class="who muted" title={t('nav.signedInAs', { user: user.username, role: t(`role.${user.role}` as MsgKey) })}>
          {t('nav.signedInAs', { user: user.username, role: t(`role.${user.role}` as MsgKey) })}
        </span>
        <button
          type="button"
          class="btn ghost"
          id="logout"
          title={t('nav.signedInAs', { user: user.username, role: t(`role.${user.role}` as MsgKey) })}
          onClick={() => void logout()}
        >
          <LogoutIcon />
          <span class="bar-label">{t('nav.logout')}</span>
        </button>
      </header>
      <ReconnectBanner />
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}

export function App() {
  const app = useApp();
  const route = useRoute();
  // Title and favicon count the alarms that call for this user's attention (a hushed one does not).
  const viewer = app.user ? { role: app.user.role, household: app.user.household } : null;
  const openCount = alertingCount(app.alarms, viewer);
  // Only drills calling: the title says DRILL, not FIRE ALARM.
  const drillsOnly = openCount > 0 && alertingCount(app.alarms, viewer, (v) => v.kind !== 'drill') === 0;

  useEffect(() => {
    updateAttention(openCount, t(drillsOnly ? 'title.drill' : 'title.alarm', { n: openCount }), t('title.quiet'));
  }, [openCount, drillsOnly, app.lang]);

  useEffect(() => {
    if (app.booting) return;
    if (!app.user && route.name !== 'login') navigate('/login', true);
    else if (app.user && (route.name === 'login' || route.name === 'home')) navigate(homePath(app.user), true);
  }, [app.booting, app.user, route.name]);

  if (app.booting) {
    return (
      <div class="center-page" aria-busy="true">
        <p>{t('common.loading')}</p>
      </div>
    );
  }
  if (!app.user || route.name === 'login') return <LoginPage />;

  let page: preact.JSX.Element | null;
  switch (route.name) {
    case 'board':
      page = <BoardPage />;
      break;
    case 'map':
      page = <MapPage />;
      break;
    case 'health':
      page = <HealthPage />;
      break;
    case 'readiness':
      page = <ReadinessPage />;
      break;
    case 'history':
      page = <HistoryPage />;
      break;
    case 'phone':
      page = <PhonePage />;
      break;
    case 'drills':
      page = <DrillsPage />;
      break;
    case 'household':
      page = <HouseholdPage id={route.params.id!} />;
      break;
    case 'home':
      page = null;
      break;
    default:
      page = (
        <section class="page">
          <p role="alert">{t('common.notFound')}</p>
          <a href={`#${homePath(app.user)}`}>{t('common.home')}</a>
        </section>
      );
  }
  // Readiness is a view of device health: its link stays the current one.
  return <Shell current={route.name === 'readiness' ? 'health' : route.name}>{page}</Shell>;
}
