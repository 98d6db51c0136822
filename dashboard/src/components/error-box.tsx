/** Shows an API error in words (never swallowed): unreachable, 403, 404 or the hub's own message. */
import { ApiError } from '../api.ts';
import { t } from '../store.ts';

export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 0) return t('error.unreachable', { msg: err.message });
    if (err.status === 403) return t('error.forbidden');
    if (err.status === 404) return t('error.notFound');
    return t('error.generic', { msg: err.message, code: err.code });
  }
  return t('common.error', { msg: err instanceof Error ? err.message : String(err) });
}

export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null;
  return (
    <div class="error-box" role="alert">
      <span aria-hidden="true">✖ </span>
      {errorText(error)}
      {onRetry && (
        <button type="button" class="btn small" onClick={onRetry}>
          {t('common.retry')}
        </button>
      )}
    </div>
  );
}
