/**
 * `smokehub tls show`: the hub's TLS certificate — where its files are, the names it is valid
 * for, when it expires and its SHA-256 fingerprint (of the local CA: what a phone installing it
 * checks; of the server certificate too). Read-only: it never creates or renews anything.
 */
import { loadConfig } from '../../config/config.ts';
import { parseCommandArgs, stringFlag, UsageError } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { MissingDataError } from '../data-dir.ts';
import { formatNames } from '../../tls/tls-names.ts';
import { RENEW_BEFORE_DAYS } from '../../tls/renewal.ts';
import { loadOperatorPair, localTlsPaths, operatorFiles, readLocal } from '../../tls/tls-store.ts';

function when(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function lines(rows: Array<[string, string]>): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

export const tlsCommand: CliCommand = {
  name: 'tls',
  summary: "show the hub's TLS certificate (files, names, expiry, SHA-256 fingerprint)",
  help: `Usage: smokehub tls show [--data DIR] [--tls-cert FILE --tls-key FILE] [--config FILE]

Prints the certificate the hub serves on its TLS ports (mqtts, https/wss): the hub's own local CA
and server certificate in DATA/tls (created at the first start), or the operator's own pair
(--tls-cert/--tls-key, env SMOKEHUB_TLS_CERT/SMOKEHUB_TLS_KEY, or the config file) — its files,
the names it is valid for, its expiry and SHA-256 fingerprints. Nothing is created or renewed.
Options:
  --data DIR         data directory (env SMOKEHUB_DATA, default ./data)
  --tls-cert FILE    the operator's certificate (PEM)
  --tls-key FILE     its key (PEM)
  --config FILE      JSON settings file (default DATA/config.json)`,
  async run(argv, io) {
    const args = parseCommandArgs(
      argv,
      { data: { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, config: { type: 'string' } },
      { min: 1, max: 1, names: 'what to do (show)' },
    );
    if (args.positionals[0] !== 'show') throw new UsageError(`unknown action "${args.positionals[0]}" (expected: show)`);
    const flags: Record<string, string | undefined> = {
      data: stringFlag(args, 'data'),
      'tls-cert': stringFlag(args, 'tls-cert'),
      'tls-key': stringFlag(args, 'tls-key'),
    };
    const config = loadConfig({ flags, env: io.env, configFile: stringFlag(args, 'config') });
    const own = operatorFiles(config.tlsCert, config.tlsKey);
    if (own) {
      const m = loadOperatorPair(own.cert, own.key);
      io.stdout("TLS: the operator's own certificate (--tls-cert / --tls-key)\n");
      io.stdout(
        lines([
          ['certificate', m.certPath],
          ['key', m.keyPath],
          ['subject', m.server.subject],
          ['issuer', m.server.issuer],
          ['names', formatNames(m.server.names) || '(none)'],
          ['valid', `${when(m.server.notBefore)} to ${when(m.server.notAfter)}${m.server.notAfter <= Date.now() ? '  EXPIRED' : ''}`],
          ['SHA-256 fingerprint', m.server.fingerprint256],
        ]),
      );
      return 0;
    }
    const m = readLocal(config.dataDir);
    if (!m || !m.ca)
      throw new MissingDataError(
        `no TLS certificate in ${localTlsPaths(config.dataDir).dir} yet: the hub creates its local CA and certificate at its first start (or pass --tls-cert and --tls-key)`,
      );
    io.stdout("TLS: the hub's own local certificate authority (DATA/tls)\n");
    io.stdout(
      lines([
        ['CA certificate', m.caPath!],
        ['CA SHA-256 fingerprint', m.ca.fingerprint256],
        ['CA valid until', when(m.ca.notAfter)],
        ['server certificate', m.certPath],
        ['server key', m.keyPath],
        ['names', formatNames(m.server.names)],
        [
          'valid',
          `${when(m.server.notBefore)} to ${when(m.server.notAfter)}${m.server.notAfter <= Date.now() ? '  EXPIRED' : ''} (renewed ${RENEW_BEFORE_DAYS} days before)`,
        ],
        ['server SHA-256', m.server.fingerprint256],
      ]),
    );
    io.stdout(`Phones and devices install ${m.caPath} (or open http://<hub>:<http-port>/ca.crt) and check the CA fingerprint above.\n`);
    return 0;
  },
};
