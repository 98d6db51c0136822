/** The registry's households (up to ~16,000 with their devices), fetched once and shared by the area plan and health pages. */
import { useEffect, useState } from 'preact/hooks';
import * as api from './api.ts';
import { getState } from './store.ts';

let cache: { user: string; at: number; list: api.HouseholdInfo[] } | null = null;
let inflight: Promise<api.HouseholdInfo[]> | null = null;
const MAX_AGE_MS = 60_000;

export function loadHouseholds(force = false): Promise<api.HouseholdInfo[]> {
  const user = getState().user;
  const who = user ? `${user.username}` : '';
  if (!force && cache && cache.user === who && Date.now() - cache.at < MAX_AGE_MS) return Promise.resolve(cache.list);
  if (inflight && !force) return inflight;
  const team = user?.role === 'team-leader' ? user.team : null;
  const p = api.households(team).then(
    (list) => {
      cache = { user: who, at: Date.now(), list };
      if (inflight === p) inflight = null;
      return list;
    },
    (err: unknown) => {
      if (inflight === p) inflight = null;
      throw err;
    },
  );
  inflight = p;
  return p;
}

export function useHouseholds(): { list: api.HouseholdInfo[] | null; error: unknown; loading: boolean; refresh: () => void } {
  const [list, setList] = useState<api.HouseholdInfo[] | null>(cache?.list ?? null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    let alive = true;
    setLoading(true);
    loadHouseholds(nonce > 0).then(
      (l) => {
        if (!alive) return;
        setList(l);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        if (!alive) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => {
      alive = false;
    };
  }, [nonce]);
  return { list, error, loading, refresh: () => setNonce((n) => n + 1) };
}
