/**
 * A small HTTP router: `METHOD /path/:param` patterns and typed errors → 4xx (bodies: body.ts).
 * Each feature (alarms, households, telemetry, jobs, ...) registers its routes on the hub's router,
 * like a fastify plugin; authentication is decided per route by `auth`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_CODES, SmokehubError } from '../protocol/errors.ts';
import type { Principal } from '../core/acl.ts';

export type UserPrincipal = Extract<Principal, { type: 'user' }>;

export interface ApiRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  /** The logged-in user; always set on routes with auth 'user' (the default). */
  user: UserPrincipal | null;
  ip: string;
  headers: IncomingMessage['headers'];
  raw: IncomingMessage;
}

export interface ApiResponse {
  status?: number;
  /** Objects are sent as JSON; strings/Buffers as they are with `contentType`. */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string | string[]>;
}

export type Handler = (req: ApiRequest) => ApiResponse | Promise<ApiResponse>;

export interface RouteOptions {
  /**
   * 'none': public; 'user' (default): a valid session or bearer token is required; 'optional': the
   * user is resolved when a valid session comes with the request, else null (the handler decides).
   */
  auth?: 'none' | 'user' | 'optional';
  /** Roles allowed (default: all logged-in roles). */
  roles?: UserPrincipal['role'][];
}

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
  opts: RouteOptions;
}

export const MAX_BODY_BYTES = 64 * 1024;

export class Router {
  private routes: Route[] = [];

  route(method: string, pattern: string, handler: Handler, opts: RouteOptions = {}): void {
    this.routes.push({ method: method.toUpperCase(), parts: pattern.split('/').filter(Boolean), handler, opts });
  }
  get(pattern: string, handler: Handler, opts?: RouteOptions): void {
    this.route('GET', pattern, handler, opts);
  }
  post(pattern: string, handler: Handler, opts?: RouteOptions): void {
    this.route('POST', pattern, handler, opts);
  }
  delete(pattern: string, handler: Handler, opts?: RouteOptions): void {
    this.route('DELETE', pattern, handler, opts);
  }

  /** Finds the route for a method and path; `methodMismatch` when the path exists for another method. */
  match(method: string, path: string): { route: Route; params: Record<string, string> } | { methodMismatch: boolean } {
    const segs = path.split('/').filter(Boolean);
    let mismatch = false;
    for (const r of this.routes) {
      if (r.parts.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segs.length; i++) {
        const p = r.parts[i]!;
        if (p.startsWith(':')) {
          try {
            params[p.slice(1)] = decodeURIComponent(segs[i]!);
          } catch {
            ok = false;
            break;
          }
        } else if (p !== segs[i]) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) {
        mismatch = true;
        continue;
      }
      return { route: r, params };
    }
    return { methodMismatch: mismatch };
  }
}

const STATUS_BY_CODE: Record<string, number> = {
  [ERROR_CODES.BAD_CREDENTIALS]: 401,
  [ERROR_CODES.FORBIDDEN]: 403,
  [ERROR_CODES.NOT_FOUND]: 404,
  [ERROR_CODES.CONFLICT]: 409,
  [ERROR_CODES.OVERSIZE]: 413,
  [ERROR_CODES.RATE_LIMITED]: 429,
  [ERROR_CODES.UNAVAILABLE]: 503,
};
export function statusForError(err: SmokehubError): number {
  return STATUS_BY_CODE[err.code] ?? 400;
}

export function sendResponse(res: ServerResponse, r: ApiResponse): void {
  const status = r.status ?? 200;
  for (const [k, v] of Object.entries(r.headers ?? {})) res.setHeader(k, v);
  res.setHeader('Cache-Control', res.getHeader('Cache-Control') ?? 'no-store');
  if (r.body === undefined || r.body === null) {
    res.statusCode = status;
    res.end();
    return;
  }
  if (typeof r.body === 'string' || Buffer.isBuffer(r.body)) {
    res.statusCode = status;
    res.setHeader('Content-Type', r.contentType ?? 'text/plain; charset=utf-8');
    res.end(r.body);
    return;
  }
  const json = JSON.stringify(r.body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(json);
}
