/** Login: clear messages for wrong passwords, throttling (429, or 503 when the hub has too many logins to check: a countdown), expiry and an unreachable hub. */
import { FlameIcon } from '../components/icons.tsx';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api.ts';
import { errorText } from '../components/error-box.tsx';
import { useNow } from '../hooks.ts';
import { navigate } from '../router.ts';
import { homePath, login } from '../session.ts';
import { setLang, t, useApp } from '../store.ts';

export function LoginPage() {
  const { loginNotice, lang } = useApp();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [waitUntil, setWaitUntil] = useState<number | null>(null);
  const now = useNow(500);
  const userRef = useRef<HTMLInputElement>(null);
  useEffect(() => userRef.current?.focus(), []);

  const waitLeft = waitUntil ? Math.ceil((waitUntil - now) / 1000) : 0;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!username || !password) {
      setError(t('login.missing'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const user = await login(username, password);
      navigate(homePath(user), true);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setError(t('login.bad'));
      else if (err instanceof ApiError && (err.status === 429 || err.status === 503)) {
        if (err.retryAfterS) {
          setWaitUntil(Date.now() + err.retryAfterS * 1000);
          setError('429');
        } else setError(t('login.tooManyNoTime'));
      } else setError(errorText(err));
      setPassword('');
    } finally {
      setBusy(false);
    }
  };
  const message = error === '429' ? (waitLeft > 0 ? t('login.tooMany', { s: waitLeft }) : null) : error;

  return (
    <div class="login-page">
      <form class="login-card" onSubmit={submit} noValidate aria-describedby={message ? 'login-error' : undefined}>
        <div class="login-head">
          <h1>
            <FlameIcon />
            {t('app.name')}
          </h1>
          <button type="button" class="btn ghost" id="lang-switch" onClick={() => setLang(lang === 'vi' ? 'en' : 'vi')} aria-label={t('lang.switchLabel')}>
            <span aria-hidden="true">⇄ </span>
            {t('lang.switch')}
          </button>
        </div>
        <p class="muted">{t('app.tagline')}</p>
        <h2>{t('login.title')}</h2>
        {loginNotice && !message && (
          <p class="notice-box" role="status">
            {t(loginNotice)}
          </p>
        )}
        {message && (
          <p class="error-box" role="alert" id="login-error">
            <span aria-hidden="true">✖ </span>
            {message}
          </p>
        )}
        <label>
          {t('login.username')}
          <input
            ref={userRef}
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellcheck={false}
            value={username}
            onInput={(e) => setUsername((e.target as HTMLInputElement).value)}
            required
          />
        </label>
        <label>
          {t('login.password')}
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
            required
          />
        </label>
        <button type="submit" class="btn primary big" disabled={busy || waitLeft > 0}>
          {busy ? t('login.busy') : t('login.submit')}
        </button>
      </form>
    </div>
  );
}
