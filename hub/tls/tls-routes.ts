/**
 * `GET /ca.crt` (public): the hub's local CA certificate, served so that a household phone can
 * install it from the hub itself — opened in the phone's browser, Android and iOS offer to
 * install it. Whoever installs it checks the SHA-256 fingerprint the station reads out (from
 * `smokehub tls show`): on plain HTTP a man in the middle could hand out his own (docs/security.md).
 * 404 when the hub uses the operator's own certificate (a public CA needs no install).
 */
import { readFileSync } from 'node:fs';
import { NotFoundError } from '../protocol/errors.ts';
import type { Router } from '../http/router.ts';
import type { TlsMaterial } from './tls-store.ts';

export function registerTlsRoutes(router: Router, material: () => TlsMaterial): void {
  router.get(
    '/ca.crt',
    () => {
      const m = material();
      if (m.mode !== 'local' || !m.caPath) throw new NotFoundError("this hub uses the operator's own certificate: there is no local CA to install");
      return {
        body: readFileSync(m.caPath, 'utf8'),
        contentType: 'application/x-x509-ca-cert',
        headers: { 'Content-Disposition': 'inline; filename="smokehub-ca.crt"', 'Cache-Control': 'no-cache' },
      };
    },
    { auth: 'none', schema: { summary: "The hub's local CA certificate, to install on phones and bridges", produces: 'application/x-x509-ca-cert' } },
  );
}
