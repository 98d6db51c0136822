/** Recent supervision notices (offline devices, low batteries, self-tests). */
import type { Notice } from '../../../hub/protocol/schema.ts';
import { formatTime } from '../format.ts';
import { noticeText } from '../notice-text.ts';
import { householdPath } from '../router.ts';
import { getState, t } from '../store.ts';
import { SeverityBadge } from './badges.tsx';

export function NoticeList({ notices, limit = 50 }: { notices: Notice[]; limit?: number }) {
  const lang = getState().lang;
  if (notices.length === 0) return <p class="muted">{t('board.noNotices')}</p>;
  return (
    <ul class="notice-list">
      {notices.slice(0, limit).map((n, i) => (
        <li key={`${n.notice}-${i}`}>
          <SeverityBadge severity={n.severity} /> <time class="muted">{formatTime(lang, n.at)}</time>{' '}
          {n.household && (
            <a class="id" href={`#${householdPath(n.household)}`}>
              {n.household}
            </a>
          )}{' '}
          {n.device && <span class="muted id">{n.device}</span>} —{' '}
          <span class="notice-text" data-notice={n.notice}>
            {noticeText(lang, n)}
          </span>
        </li>
      ))}
    </ul>
  );
}
