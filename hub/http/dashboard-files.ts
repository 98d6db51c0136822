/**
 * The built dashboard (dist/dashboard) on fastify: @fastify/static serves the files (content types,
 * ETag/304, Last-Modified, a precompressed `.gz` next to a file when there is one, dotfiles and
 * paths out of the root refused), @fastify/compress gzips the rest on the fly (≥ 1 KiB, text
 * types only; `Vary: Accept-Encoding`). Vite's hashed files under /assets/ are cached for a year
 * (immutable), everything else is revalidated (`no-cache`). The SPA fallback (a client-side route
 * without a file extension gets index.html; a missing asset is a 404) lives in the not-found
 * handler, which http-server.ts registers in this same context (`serveIndex`).
 * Registered in its own encapsulated context, so API answers are not compressed.
 */
import { join, sep } from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';
import fastifyCompress from '@fastify/compress';

/** Files smaller than this are sent as they are (gzip would not pay off). */
export const MIN_GZIP_BYTES = 1024;
const COMPRESSIBLE = /^(text\/|application\/(javascript|json|manifest\+json|wasm)|image\/svg\+xml|font\/ttf)/;

export async function registerDashboardFiles(app: FastifyInstance, root: string): Promise<void> {
  const assets = join(root, 'assets') + sep;
  // @fastify/compress gzips every stream whatever its size; a file under the threshold is read into
  // a buffer first (this context's hook runs before the plugin's route-level one), which it leaves alone.
  app.addHook('onSend', async (_req, reply, payload) => {
    // RFC 9239: JavaScript is text/javascript. The mime table @fastify/static uses still says
    // application/javascript, and it sets the type after setHeaders for a precompressed file.
    const type = reply.getHeader('Content-Type');
    if (typeof type === 'string' && type.startsWith('application/javascript')) reply.header('Content-Type', 'text/javascript; charset=utf-8');
    const length = Number(reply.getHeader('Content-Length'));
    if (!(payload instanceof Readable) || !Number.isFinite(length) || length >= MIN_GZIP_BYTES) return payload;
    const chunks: Buffer[] = [];
    for await (const c of payload) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  });
  await app.register(fastifyCompress, { global: true, threshold: MIN_GZIP_BYTES, encodings: ['gzip'], customTypes: COMPRESSIBLE });
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: true,
    index: ['index.html'],
    dotfiles: 'deny',
    preCompressed: true,
    etag: true,
    lastModified: true,
    cacheControl: false,
    setHeaders: (reply, path) => {
      reply.header('Cache-Control', path.startsWith(assets) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}

/** The SPA fallback: index.html for a client-side route (the last path segment has no extension). */
export function isClientRoute(path: string): boolean {
  return !(path.split('/').pop() ?? '').includes('.');
}

export function serveIndex(reply: FastifyReply): FastifyReply {
  return reply.header('Cache-Control', 'no-cache').sendFile('index.html');
}
