/**
 * The hub's route table. Each feature (alarms, households, telemetry, jobs, ...) declares its
 * routes here, like a fastify plugin, as plain functions of an ApiRequest: `METHOD /path/:param`,
 * who may call it (`auth`, `roles`) and its request/response schemas (hub/protocol/http/). The HTTP
 * server (http-server.ts) mounts the table on fastify, which matches, parses, validates and answers;
 * the handlers know nothing of the framework. The same table gives `GET /api/openapi.json`.
 */
import type { IncomingMessage } from 'node:http';
import type { TSchema } from 'typebox';
import { ERROR_CODES, type SmokehubError } from '../protocol/errors.ts';
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
  /** Objects are sent as JSON; strings/Buffers (and readable streams: a whole file) as they are with `contentType`. */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string | string[]>;
}

export type Handler = (req: ApiRequest) => ApiResponse | Promise<ApiResponse>;

/** A route's contract: JSON Schemas (TypeBox) of its request parts and of its answers by status. */
export interface RouteSchema {
  summary?: string;
  description?: string;
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  /** Answers by status code; `text/plain` answers (metrics, CSV) are described by `produces`. */
  response?: Record<number, TSchema>;
  /** Content type of a non-JSON success answer (e.g. `text/csv; charset=utf-8`). */
  produces?: string;
  /** The route serves byte ranges of its `produces` answer (206 Partial Content, 416). */
  ranges?: boolean;
}

export interface RouteOptions {
  /**
   * 'none': public; 'user' (default): a valid session or bearer token is required; 'optional': the
   * user is resolved when a valid session comes with the request, else null (the handler decides).
   */
  auth?: 'none' | 'user' | 'optional';
  /** Roles allowed (default: all logged-in roles). */
  roles?: UserPrincipal['role'][];
  /** The contract: request validation (fastify/Ajv) and the OpenAPI description. */
  schema?: RouteSchema;
}

export interface Route {
  method: string;
  /** The pattern as declared, e.g. `/api/alarms/:id` (also the route's metrics label). */
  pattern: string;
  parts: string[];
  handler: Handler;
  opts: RouteOptions;
}

export const MAX_BODY_BYTES = 64 * 1024;

export class Router {
  private readonly table: Route[] = [];
  private sealed = false;

  route(method: string, pattern: string, handler: Handler, opts: RouteOptions = {}): void {
    // Routes are mounted when the server first starts answering: a late one would silently be missing.
    if (this.sealed) throw new Error(`route ${method} ${pattern} declared after the HTTP server was started`);
    this.table.push({ method: method.toUpperCase(), pattern, parts: pattern.split('/').filter(Boolean), handler, opts });
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

  /** Every declared route, in declaration order; `seal` refuses later declarations. */
  routes(seal = false): readonly Route[] {
    if (seal) this.sealed = true;
    return this.table;
  }

  /** The methods declared for a concrete path (the `Allow` of a 405), empty when no route has it. */
  methodsFor(path: string): string[] {
    const segs = path.split('/').filter(Boolean);
    const out = new Set<string>();
    for (const r of this.table) {
      if (r.parts.length !== segs.length) continue;
      if (r.parts.every((p, i) => p.startsWith(':') || p === segs[i])) out.add(r.method);
    }
    if (out.has('GET')) out.add('HEAD');
    return [...out];
  }
}

const STATUS_BY_CODE: Record<string, number> = {
  [ERROR_CODES.BAD_CREDENTIALS]: 401,
  [ERROR_CODES.FORBIDDEN]: 403,
  [ERROR_CODES.NOT_FOUND]: 404,
  [ERROR_CODES.METHOD_NOT_ALLOWED]: 405,
  [ERROR_CODES.CONFLICT]: 409,
  [ERROR_CODES.OVERSIZE]: 413,
  [ERROR_CODES.RATE_LIMITED]: 429,
  [ERROR_CODES.INTERNAL]: 500,
  [ERROR_CODES.UNAVAILABLE]: 503,
};
export function statusForError(err: SmokehubError): number {
  return STATUS_BY_CODE[err.code] ?? 400;
}
