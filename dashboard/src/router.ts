/** Hash routing (`#/board`, `#/household/H1`): the hub serves one index.html, no server routes needed. */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  name: string;
  params: Record<string, string>;
}

const PATTERNS: [string, string][] = [
  ['login', '/login'],
  ['board', '/board'],
  ['map', '/map'],
  ['health', '/health'],
  ['readiness', '/readiness'],
  ['history', '/history'],
  ['drills', '/drills'],
  ['phone', '/phone'],
  ['household', '/household/:id'],
];

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, '').split('?')[0] || '/';
  const segs = path.split('/').filter(Boolean);
  for (const [name, pattern] of PATTERNS) {
    const parts = pattern.split('/').filter(Boolean);
    if (parts.length !== segs.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    parts.forEach((p, i) => {
      if (p.startsWith(':')) {
        try {
          params[p.slice(1)] = decodeURIComponent(segs[i]!);
        } catch {
          ok = false;
        }
      } else if (p !== segs[i]) ok = false;
    });
    if (ok) return { name, params };
  }
  return { name: segs.length === 0 ? 'home' : 'not-found', params: {} };
}

export function navigate(path: string, replace = false): void {
  const hash = `#${path}`;
  if (location.hash === hash) return;
  if (replace) history.replaceState(null, '', hash);
  else location.hash = hash;
  if (replace) window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function householdPath(id: string): string {
  return `/household/${encodeURIComponent(id)}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
