/**
 * Typed errors with stable codes (each documented in docs/errors.md; test/unit/core/error-codes.unit.test.ts checks both ways). Every rejected input carries one of these codes, so logs,
 * metrics (`smokehub_rejects_total{reason=...}`), device `error` topics and HTTP 4xx bodies
 * all speak the same vocabulary. Browser-safe: no Node imports.
 */
export const ERROR_CODES = {
  BAD_JSON: 'bad_json',
  BAD_PAYLOAD: 'bad_payload',
  OVERSIZE: 'oversize',
  UNKNOWN_TYPE: 'unknown_type',
  BAD_FIELD: 'bad_field',
  UNKNOWN_FIELD: 'unknown_field',
  FORBIDDEN: 'forbidden',
  NOT_FOUND: 'not_found',
  BAD_CREDENTIALS: 'bad_credentials',
  RATE_LIMITED: 'rate_limited',
  BAD_CSV: 'bad_csv',
  BAD_CONFIG: 'bad_config',
  BAD_REQUEST: 'bad_request',
  CONFLICT: 'conflict',
  UNAVAILABLE: 'unavailable',
  /** A telemetry reading at a `ts` the device already used, with a different value (docs/telemetry.md). */
  DUPLICATE_TS: 'duplicate_ts',
  /** HTTP: the path exists, the method does not (405). */
  METHOD_NOT_ALLOWED: 'method_not_allowed',
  /** HTTP: a handler failed (500); the hub log has the cause. */
  INTERNAL: 'internal',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** Base class: `code` is stable and machine-readable, `message` is for people. */
export class SmokehubError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
  toJSON(): { error: ErrorCode; message: string; details?: unknown } {
    return this.details === undefined ? { error: this.code, message: this.message } : { error: this.code, message: this.message, details: this.details };
  }
}

/** An external input (MQTT payload, topic, CSV row, HTTP body, serial line) failed validation. */
export class ValidationError extends SmokehubError {}
/** Credentials were wrong or missing. */
export class AuthError extends SmokehubError {
  constructor(message = 'bad user name or password') {
    super(ERROR_CODES.BAD_CREDENTIALS, message);
  }
}
/** The principal may not do this. */
export class ForbiddenError extends SmokehubError {
  constructor(message = 'forbidden') {
    super(ERROR_CODES.FORBIDDEN, message);
  }
}
/** A referenced thing does not exist. */
export class NotFoundError extends SmokehubError {
  constructor(message = 'not found') {
    super(ERROR_CODES.NOT_FOUND, message);
  }
}
/** Configuration (file, env or flags) is invalid: a start-up error, never a crash loop. */
export class ConfigError extends SmokehubError {
  constructor(message: string) {
    super(ERROR_CODES.BAD_CONFIG, message);
  }
}
/** Too many attempts from one source. */
export class RateLimitedError extends SmokehubError {
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number) {
    super(ERROR_CODES.RATE_LIMITED, `too many attempts; retry in ${Math.ceil(retryAfterMs / 1000)} s`);
    this.retryAfterMs = retryAfterMs;
  }
}
/** The hub cannot do this now (e.g. too many password checks waiting): try again after `retryAfterMs`. */
export class BusyError extends SmokehubError {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number) {
    super(ERROR_CODES.UNAVAILABLE, message);
    this.retryAfterMs = retryAfterMs;
  }
}
