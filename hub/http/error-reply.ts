/**
 * What a refused or failed request answers: every error becomes `{"error": <code>, "message"}` with
 * one of the hub's stable codes (protocol/errors.ts, docs/errors.md). The hub's typed errors keep
 * their code; fastify's own errors (see fastify's docs/Reference/Errors.md) are translated:
 *   FST_ERR_CTP_BODY_TOO_LARGE          → 413 oversize (and the connection is closed)
 *   FST_ERR_CTP_INVALID_CONTENT_LENGTH  → 400 bad_request
 *   FST_ERR_CTP_INVALID_MEDIA_TYPE      → 400 bad_request
 *   FST_ERR_VALIDATION (a route schema) → 400 bad_field for the body, bad_request for the query or
 *                                         path, the first failing field named in the hub's words
 *   FST_ERR_BAD_URL / other 4xx         → 400 bad_request (403/404 of the static server: 404 not_found)
 * Anything else is a handler bug: 500 internal, logged with its stack, never its text to the client.
 */
import { ERROR_CODES, BusyError, RateLimitedError, SmokehubError, ValidationError, type ErrorCode } from '../protocol/errors.ts';
import { statusForError } from './router.ts';

export interface ErrorAnswer {
  status: number;
  code: ErrorCode;
  message: string;
  headers: Record<string, string>;
  /** A bug (500): log it with its stack. */
  internal: boolean;
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }>;
  validationContext?: string;
}

/** The request body is not JSON (thrown by the hub's JSON body parser). */
export class BadJsonError extends ValidationError {
  constructor() {
    super(ERROR_CODES.BAD_JSON, 'request body is not valid JSON');
  }
}

/** A schema refusal in the hub's words: "response must be one of coming, unable, …", "household is required". */
function validationMessage(e: FastifyLikeError): string {
  const first = e.validation?.[0];
  const where = e.validationContext ?? 'request';
  if (!first) return `bad ${where}`;
  const path = (first.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const p = first.params ?? {};
  const name = [path, typeof p.missingProperty === 'string' ? p.missingProperty : '', typeof p.additionalProperty === 'string' ? p.additionalProperty : '']
    .filter(Boolean)
    .join('.');
  const subject = name || (where === 'body' ? 'the body' : where);
  let text: string;
  if (typeof p.missingProperty === 'string') text = `${subject} is required`;
  else if (typeof p.additionalProperty === 'string') text = `unknown field ${subject}`;
  else if (Array.isArray(p.allowedValues)) text = `${subject} must be one of ${p.allowedValues.join(', ')}`;
  else text = `${subject} ${first.message ?? 'is not valid'}`;
  return text.slice(0, 300);
}

export function answerForError(err: unknown, bodyLimit: number): ErrorAnswer {
  if (err instanceof SmokehubError) {
    const headers: Record<string, string> = {};
    if (err instanceof RateLimitedError || err instanceof BusyError) headers['Retry-After'] = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
    return { status: statusForError(err), code: err.code, message: err.message, headers, internal: false };
  }
  const e = (err ?? {}) as FastifyLikeError;
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return {
      status: 413,
      code: ERROR_CODES.OVERSIZE,
      message: `request body is larger than ${bodyLimit} bytes`,
      headers: { Connection: 'close' },
      internal: false,
    };
  }
  if (e.validation) {
    // A field of the body is `bad_field`; the URL's query or path is `bad_request` (docs/errors.md).
    const code = e.validationContext === 'body' ? ERROR_CODES.BAD_FIELD : ERROR_CODES.BAD_REQUEST;
    return { status: 400, code, message: validationMessage(e), headers: {}, internal: false };
  }
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return { status: 400, code: ERROR_CODES.BAD_REQUEST, message: 'request body must be sent as Content-Type: application/json', headers: {}, internal: false };
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : (err as { status?: unknown })?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // A file path the static server refused (403: out of the root, a dotfile) says no more than a 404.
    if (status === 403 || status === 404) return { status: 404, code: ERROR_CODES.NOT_FOUND, message: 'not found', headers: {}, internal: false };
    return { status: 400, code: ERROR_CODES.BAD_REQUEST, message: String(e.message ?? 'bad request').slice(0, 300), headers: {}, internal: false };
  }
  return { status: 500, code: ERROR_CODES.INTERNAL, message: 'internal error; see the hub log', headers: {}, internal: true };
}
