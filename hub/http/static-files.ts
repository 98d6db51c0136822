/**
 * Serves the built dashboard (dist/dashboard): correct content types, ETag/304, immutable
 * caching for Vite's hashed files under /assets/, gzip (a precompressed `.gz` next to the file,
 * or compressed once and cached), and SPA fallback to index.html for paths without a file
 * extension. Paths are decoded, normalised and confined to the root: `..`, encoded slashes,
 * NUL bytes and symlinks out of the root are refused.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promises as fs, type Stats } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.webmanifest', '.svg', '.txt', '.ttf']);
/** Files smaller than this are sent as they are (gzip would not pay off). */
const MIN_GZIP_BYTES = 1024;
/** Bound on the on-the-fly gzip cache. */
const MAX_GZIP_CACHE_BYTES = 32 * 1024 * 1024;

export function contentTypeFor(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** Does the client accept gzip (`Accept-Encoding: gzip`, `gzip;q=0.5`, `*`; not `gzip;q=0`)? */
export function acceptsGzip(req: IncomingMessage): boolean {
  for (const part of String(req.headers['accept-encoding'] ?? '').split(',')) {
    const [name, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (name !== 'gzip' && name !== '*') continue;
    const q = params.find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

export class StaticFiles {
  readonly root: string;
  private realRoot: string | null = null;
  private gzipCache = new Map<string, { key: string; body: Buffer }>();
  private gzipCacheBytes = 0;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /**
   * Resolves a URL path to a file inside the root, or null when it is not a safe path.
   * Exposed for tests.
   */
  resolvePath(urlPath: string): string | null {
    let decoded: string;
    try {
      decoded = decodeURIComponent(urlPath);
    } catch {
      return null;
    }
    if (decoded.includes('\0') || decoded.includes('\\')) return null;
    const segments = decoded.split('/').filter((s) => s !== '' && s !== '.');
    if (segments.some((s) => s === '..' || s.startsWith('.'))) return null;
    const full = resolve(this.root, ...segments);
    if (full !== this.root && !full.startsWith(this.root + sep)) return null;
    return full;
  }

  /** Serves a GET/HEAD for `urlPath`; returns false when there is nothing to serve (caller answers 404). */
  async serve(req: IncomingMessage, res: ServerResponse, urlPath: string): Promise<boolean> {
    const file = this.resolvePath(urlPath);
    if (file === null) return false;
    let found = await this.statFile(file);
    let target = file;
    if (found === null && file !== this.root) {
      const dirIndex = join(file, 'index.html');
      found = await this.statFile(dirIndex);
      if (found) target = dirIndex;
    }
    if (found === null && file === this.root) {
      target = join(this.root, 'index.html');
      found = await this.statFile(target);
    }
    // SPA fallback: a client-side route (no extension) gets index.html; a missing asset is a 404.
    const last = urlPath.split('/').pop() ?? '';
    if (found === null && !last.includes('.')) {
      target = join(this.root, 'index.html');
      found = await this.statFile(target);
    }
    if (found === null) return false;
    if (!(await this.insideRealRoot(target))) return false;

    const ext = extname(target).toLowerCase();
    const hashedAsset = urlPath.startsWith('/assets/') && target !== join(this.root, 'index.html');
    const etag = `"${found.size.toString(16)}-${Math.floor(found.mtimeMs).toString(16)}"`;
    res.setHeader('Content-Type', contentTypeFor(target));
    res.setHeader('Cache-Control', hashedAsset ? 'public, max-age=31536000, immutable' : 'no-cache');
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', found.mtime.toUTCString());
    const compressible = COMPRESSIBLE.has(ext) && found.size >= MIN_GZIP_BYTES;
    if (compressible) res.setHeader('Vary', 'Accept-Encoding');

    const inm = req.headers['if-none-match'];
    if (typeof inm === 'string' && inm.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}`)) {
      res.statusCode = 304;
      res.end();
      return true;
    }

    let body: Buffer;
    if (compressible && acceptsGzip(req)) {
      body = await this.gzipped(target, found);
      res.setHeader('Content-Encoding', 'gzip');
    } else {
      body = await fs.readFile(target);
    }
    res.statusCode = 200;
    res.setHeader('Content-Length', body.length);
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }

  private async statFile(path: string): Promise<Stats | null> {
    try {
      const st = await fs.stat(path);
      return st.isFile() ? st : null;
    } catch {
      return null;
    }
  }

  /** Symlinks must not lead out of the root. */
  private async insideRealRoot(path: string): Promise<boolean> {
    try {
      this.realRoot ??= await fs.realpath(this.root);
      const real = await fs.realpath(path);
      return real === this.realRoot || real.startsWith(this.realRoot + sep);
    } catch {
      return false;
    }
  }

  private async gzipped(path: string, st: Stats): Promise<Buffer> {
    const key = `${st.size}:${st.mtimeMs}`;
    const pre = await this.statFile(path + '.gz');
    if (pre && pre.mtimeMs >= st.mtimeMs) return fs.readFile(path + '.gz');
    const cached = this.gzipCache.get(path);
    if (cached && cached.key === key) return cached.body;
    const body = gzipSync(await fs.readFile(path), { level: 9 });
    if (cached) {
      this.gzipCache.delete(path);
      this.gzipCacheBytes -= cached.body.length;
    }
    while (this.gzipCacheBytes + body.length > MAX_GZIP_CACHE_BYTES && this.gzipCache.size > 0) {
      const [oldest, entry] = this.gzipCache.entries().next().value as [string, { body: Buffer }];
      this.gzipCache.delete(oldest);
      this.gzipCacheBytes -= entry.body.length;
    }
    if (body.length <= MAX_GZIP_CACHE_BYTES) {
      this.gzipCache.set(path, { key, body });
      this.gzipCacheBytes += body.length;
    }
    return body;
  }
}
