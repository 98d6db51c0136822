/**
 * The HTTP plumbing under api.ts and api-drills.ts (the only modules that call the hub's API):
 * same-origin session cookie, JSON in and out, typed errors, and the small readers that turn
 * loosely shaped answers into typed values.
 */
/** An API call that did not succeed: HTTP status (0 = hub unreachable), stable code, message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** Seconds to wait before retrying (429). */
  readonly retryAfterS: number | null;
  constructor(status: number, code: string, message: string, retryAfterS: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfterS = retryAfterS;
  }
}

type UnauthorizedHandler = () => void;
let onUnauthorized: UnauthorizedHandler = () => {};
/** The app decides what a 401 means (session expired → back to the login page). */
export function setUnauthorizedHandler(fn: UnauthorizedHandler): void {
  onUnauthorized = fn;
}

const REQUEST_TIMEOUT_MS = 15_000;

export async function request<T>(method: string, path: string, body?: unknown, opts: { authFailureIsExpiry?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctrl.signal,
    });
  } catch (err) {
    throw new ApiError(0, 'unreachable', err instanceof Error ? err.message : String(err));
  } finally {
    clearTimeout(timer);
  }
  const text = await res.text();
  let json: unknown = undefined;
  if (text.length > 0) {
    try {
      json = JSON.parse(text);
    } catch {
      if (res.ok) throw new ApiError(res.status, 'bad_response', `the hub answered ${path} with something that is not JSON`);
    }
  }
  if (!res.ok) {
    const o = (json ?? {}) as { error?: unknown; message?: unknown; retryAfterMs?: unknown; details?: { retryAfterMs?: unknown } };
    const code = typeof o.error === 'string' ? o.error : `http_${res.status}`;
    const message = typeof o.message === 'string' ? o.message : text.slice(0, 200) || res.statusText;
    const retry = retryAfterSeconds(res.headers.get('Retry-After'), o, message);
    const err = new ApiError(res.status, code, message, retry);
    if (res.status === 401 && opts.authFailureIsExpiry !== false) onUnauthorized();
    throw err;
  }
  return json as T;
}

function retryAfterSeconds(header: string | null, body: { retryAfterMs?: unknown; details?: { retryAfterMs?: unknown } }, message: string): number | null {
  if (header && /^\d+$/.test(header.trim())) return Number(header.trim());
  const ms = typeof body.retryAfterMs === 'number' ? body.retryAfterMs : typeof body.details?.retryAfterMs === 'number' ? body.details.retryAfterMs : null;
  if (ms !== null) return Math.max(1, Math.ceil(ms / 1000));
  const m = /(\d+)\s*s\b/.exec(message);
  return m ? Number(m[1]) : null;
}

export const enc = encodeURIComponent;
export function query(params: Record<string, string | number | null | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${enc(k)}=${enc(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Picks the array out of `{key:[...]}` or a bare array. */
export function listOf<T>(raw: unknown, key: string): T[] {
  if (Array.isArray(raw)) return raw as T[];
  if (raw && typeof raw === 'object' && Array.isArray((raw as Record<string, unknown>)[key])) return (raw as Record<string, T[]>)[key]!;
  return [];
}
export const num = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : null;
export const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
/** Timestamps may come as ms numbers or ISO strings. */
export const time = (v: unknown): number | null => {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v) {
    const n = Date.parse(v);
    return Number.isNaN(n) ? null : n;
  }
  return null;
};
