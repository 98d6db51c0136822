/**
 * `GET /api/openapi.json`: the HTTP API described as OpenAPI 3.1, built from the route table
 * itself (router.ts: each route's pattern, auth, roles and TypeBox schemas from hub/protocol/http/),
 * so the description cannot drift from what the hub serves. Public: it is the open contract.
 */
import type { TSchema } from 'typebox';
import { ErrorBody } from '../protocol/http/common.ts';
import type { Route, Router } from './router.ts';
import { packageVersion } from './health-routes.ts';

type Json = Record<string, unknown>;

const ERROR_ANSWERS: Record<string, string> = {
  '400': 'bad request: the body, a field or a query parameter is not valid (`bad_json`, `bad_field`, `bad_request`)',
  '401': 'not logged in, or the session has expired (`bad_credentials`)',
  '403': 'logged in, but not allowed (`forbidden`), or a cross-site request',
  '404': 'no such thing (`not_found`)',
  '413': 'the body is larger than 64 KiB (`oversize`)',
  '429': 'too many attempts: see Retry-After (`rate_limited`)',
  '503': 'the hub is busy or degraded: see Retry-After (`unavailable`)',
};

function openApiPath(pattern: string): string {
  return pattern.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** JSON Schema as OpenAPI 3.1 takes it (TypeBox adds no keywords OpenAPI refuses; this copies and drops symbols). */
function plain(schema: TSchema): Json {
  return JSON.parse(JSON.stringify(schema)) as Json;
}

function parameters(route: Route): Json[] {
  const out: Json[] = [];
  const params = route.opts.schema?.params as { properties?: Record<string, TSchema> } | undefined;
  for (const p of route.parts.filter((x) => x.startsWith(':'))) {
    const name = p.slice(1);
    out.push({ name, in: 'path', required: true, schema: params?.properties?.[name] ? plain(params.properties[name]!) : { type: 'string' } });
  }
  const q = route.opts.schema?.querystring as { properties?: Record<string, TSchema>; required?: string[] } | undefined;
  for (const [name, schema] of Object.entries(q?.properties ?? {})) {
    const s = plain(schema);
    out.push({ name, in: 'query', required: q?.required?.includes(name) ?? false, description: s.description, schema: s });
  }
  return out;
}

function operation(route: Route): Json {
  const s = route.opts.schema ?? {};
  const auth = route.opts.auth ?? 'user';
  const responses: Json = {};
  for (const [status, schema] of Object.entries(s.response ?? {})) {
    responses[status] = { description: plain(schema).description ?? 'success', content: { 'application/json': { schema: plain(schema) } } };
  }
  if (Object.keys(responses).length === 0) {
    responses['200'] = s.produces ? { description: 'success', content: { [s.produces]: { schema: { type: 'string' } } } } : { description: 'success' };
  }
  if (s.ranges && s.produces) {
    responses['206'] = { description: 'the requested byte range (Content-Range)', content: { [s.produces]: { schema: { type: 'string' } } } };
    responses['416'] = {
      description: 'the range cannot be served (Content-Range: bytes */size)',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  }
  const errors = ['400', '404', '503'];
  if (auth !== 'none') errors.push('401', '403');
  if (route.method === 'POST') errors.push('413');
  if (route.pattern === '/api/login') errors.push('401', '429');
  for (const code of errors) {
    responses[code] ??= { description: ERROR_ANSWERS[code], content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  const roles = route.opts.roles;
  const op: Json = {
    operationId: `${route.method.toLowerCase()}${route.parts.map((p) => (p.startsWith(':') ? 'By' + p.slice(1) : p)).join('_')}`.replace(/[^A-Za-z0-9_]/g, '_'),
    summary: s.summary,
    description: [s.description, roles ? `Roles: ${roles.join(', ')}.` : null].filter(Boolean).join('\n\n') || undefined,
    parameters: parameters(route),
    responses,
    security: auth === 'none' ? [] : auth === 'optional' ? [{}, { bearer: [] }, { session: [] }] : [{ bearer: [] }, { session: [] }],
    ...(roles ? { 'x-roles': roles } : {}),
  };
  if (s.body) op.requestBody = { required: true, content: { 'application/json': { schema: plain(s.body) } } };
  return op;
}

/** The OpenAPI 3.1 document of every route in the table. */
export function openApiDocument(routes: readonly Route[], version = packageVersion()): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const p = (paths[openApiPath(r.pattern)] ??= {});
    p[r.method.toLowerCase()] = operation(r);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'smokehub hub HTTP API',
      version,
      description: 'The fire station dashboard and phone view API of a smokehub hub. Errors are `{"error": code, "message"}` (docs/errors.md).',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: { Error: plain(ErrorBody) },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'the token from POST /api/login' },
        session: { type: 'apiKey', in: 'cookie', name: 'smokehub_session', description: 'set by POST /api/login (HttpOnly, SameSite=Strict)' },
      },
    },
  };
}

export function registerOpenApiRoute(router: Router): void {
  let cached: string | null = null;
  router.get(
    '/api/openapi.json',
    () => {
      cached ??= JSON.stringify(openApiDocument(router.routes()));
      return { body: cached, contentType: 'application/json; charset=utf-8', headers: { 'Cache-Control': 'no-cache' } };
    },
    { auth: 'none', schema: { summary: 'This description of the HTTP API (OpenAPI 3.1)', produces: 'application/json' } },
  );
}
