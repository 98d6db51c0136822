/** The two views of device health: per device (#/health) and the teams' readiness per household (#/readiness). */
import { t } from '../store.ts';

export function HealthTabs({ current }: { current: 'health' | 'readiness' }) {
  const tabs: ['health' | 'readiness', string, string][] = [
    ['health', '#/health', t('readiness.tabDevices')],
    ['readiness', '#/readiness', t('readiness.tabReadiness')],
  ];
  return (
    <nav class="view-tabs" aria-label={t('readiness.tabs')}>
      {tabs.map(([name, href, label]) => (
        <a key={name} href={href} class={current === name ? 'active' : ''} aria-current={current === name ? 'page' : undefined}>
          {label}
        </a>
      ))}
    </nav>
  );
}
