/**
 * Reads a bounded JSON request body (JSON content type, at most MAX_BODY_BYTES), and keeps the
 * connection usable when the body is too large: the rest is drained (up to a bound) so the
 * 413 answer reaches the client instead of a reset socket.
 */
import type { IncomingMessage } from 'node:http';
import { ERROR_CODES, SmokehubError, ValidationError } from '../protocol/errors.ts';
import { MAX_BODY_BYTES } from './router.ts';

/** Beyond this many bytes of an oversize body the connection is closed instead of drained. */
const MAX_DRAIN_BYTES = 1024 * 1024;

export function isJsonContentType(header: string | string[] | undefined): boolean {
  const type = String(header ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

export class OversizeBodyError extends SmokehubError {
  constructor(limit: number) {
    super(ERROR_CODES.OVERSIZE, `request body is larger than ${limit} bytes`);
  }
}

/** Reads the raw body; throws OversizeBodyError past `limit` (after draining or closing). */
export function readBodyBytes(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const fail = () => {
      over = true;
      chunks.length = 0;
      reject(new OversizeBodyError(limit));
    };
    // A declared oversize body is refused before it is read (the server answers with Connection: close).
    if (Number.isFinite(declared) && declared > limit) fail();
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (over) {
        if (size > MAX_DRAIN_BYTES) req.destroy();
        return;
      }
      if (size > limit) {
        fail();
        return;
      }
      chunks.push(chunk);
    });
    let ended = false;
    req.on('end', () => {
      ended = true;
      if (!over) resolve(Buffer.concat(chunks));
    });
    // The client went away mid-body: settle, so the request does not hang around.
    req.on('close', () => {
      if (!ended && !over) reject(new ValidationError(ERROR_CODES.BAD_REQUEST, 'the request body was cut off'));
    });
    req.on('error', (err) => {
      if (!over) reject(err);
    });
  });
}

/** Reads and parses a JSON body; an empty body is `undefined`. */
export async function readJsonBodyBounded(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const buf = await readBodyBytes(req, limit);
  if (buf.length === 0) return undefined;
  const type = req.headers['content-type'];
  if (type && !isJsonContentType(type)) throw new ValidationError(ERROR_CODES.BAD_REQUEST, 'request body must be application/json');
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw new ValidationError(ERROR_CODES.BAD_JSON, 'request body is not valid JSON');
  }
}
