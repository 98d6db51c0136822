/** The bulk device health (`GET /api/devices/health`) as a hook, refreshed while a page shows it (device health, team readiness). */
import { useEffect, useState } from 'preact/hooks';
import * as api from './api.ts';

/** The listing is a snapshot; it is fetched again this often while the page is open. */
const REFRESH_MS = 60_000;

export function useDevicesHealth(): { devices: api.DeviceHealthInfo[] | null; loadedAt: number; error: unknown; reload: () => void } {
  const [state, setState] = useState<{ devices: api.DeviceHealthInfo[] | null; loadedAt: number; error: unknown }>({ devices: null, loadedAt: 0, error: null });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    let alive = true;
    api.devicesHealth().then(
      (devices) => alive && setState({ devices, loadedAt: Date.now(), error: null }),
      (error: unknown) => alive && setState((s) => ({ ...s, error })),
    );
    return () => {
      alive = false;
    };
  }, [nonce]);
  useEffect(() => {
    const timer = setInterval(() => setNonce((n) => n + 1), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  return { ...state, reload: () => setNonce((n) => n + 1) };
}
