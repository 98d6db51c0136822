/**
 * `smokehub user add|passwd|remove|list`: people who log in (station staff, team leaders,
 * households), in DATA's SQLite registry or, with --postgres URL, a cluster's PostgreSQL.
 */
import type { Role } from '../../core/acl.ts';
import { loadConfig } from '../../config/config.ts';
import type { AddUserInput } from '../../store/registry-users.ts';
import type { User } from '../../store/registry-types.ts';
import { ROLES } from '../../store/registry-store.ts';
import { formatTable } from '../table.ts';
import { type ParsedArgs, parseCommandArgs, stringFlag, UsageError } from '../args.ts';
import type { CliCommand, CliIo } from '../command.ts';
import { cliConfig, openRegistry } from '../data-dir.ts';
import { withPgRegistry } from '../pg-registry-target.ts';
import { configEnv, postgresUrl } from '../postgres-target.ts';

const HELP = `Usage:
  smokehub user add NAME --role station|team-leader|household [--team T] [--household H] [--password P]
  smokehub user passwd NAME [--password P]
  smokehub user remove NAME
  smokehub user list
Options (all subcommands): --data DIR (env SMOKEHUB_DATA, default ./data)
  --postgres URL   a cluster's PostgreSQL instead of DATA, postgres://USER:PASS@HOST:PORT/DB
                   (env SMOKEHUB_POSTGRES); every node sees the change at once

add      creates a person. station: sees every team; team-leader: needs --team (an imported
         team); household: needs --household (an imported household). Without --password a
         readable password is generated and printed once. (A --password on the command line
         may stay in your shell history; prefer the generated one.)
passwd   sets a new password (generated when none is given) and logs the user out everywhere.
remove   deletes the user and ends their sessions.
list     shows every user with role and scope.`;

/** What the subcommands need of either registry (SQLite's removeUser is sync, PostgreSQL's async). */
interface UserStore {
  addUser(input: AddUserInput): Promise<{ user: User; password: string; generated: boolean }>;
  setPassword(username: string, password?: string | null): Promise<{ password: string; generated: boolean }>;
  removeUser(username: string): void | Promise<void>;
  listUsers(): User[];
}

const COMMON = { data: { type: 'string' }, postgres: { type: 'string' } } as const;

async function withStore<T>(io: CliIo, args: ParsedArgs, fn: (s: UserStore) => Promise<T>): Promise<T> {
  const data = stringFlag(args, 'data');
  const url = postgresUrl(stringFlag(args, 'postgres'), io);
  if (url !== null) {
    const config = loadConfig({ flags: data === undefined ? {} : { data }, env: configEnv(io) });
    return withPgRegistry({ url, dataDir: config.dataDir, countryCode: config.countryCode, key: 'none' }, fn);
  }
  const config = cliConfig(io, data);
  const { db, store } = openRegistry(config, false);
  try {
    return await fn(store);
  } finally {
    db.close();
  }
}

export const userCommand: CliCommand = {
  name: 'user',
  summary: 'add, re-password, remove or list people who log in (user add NAME --role ...)',
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'add': {
        const args = parseCommandArgs(
          rest,
          { role: { type: 'string' }, team: { type: 'string' }, household: { type: 'string' }, password: { type: 'string' }, ...COMMON },
          { min: 1, max: 1, names: 'NAME' },
        );
        const role = stringFlag(args, 'role');
        if (role === undefined) throw new UsageError(`--role is required (${ROLES.join(', ')})`);
        if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got "${role}"`);
        const name = args.positionals[0]!;
        const r = await withStore(io, args, (store) =>
          store.addUser({
            username: name,
            role: role as Role,
            team: stringFlag(args, 'team') ?? null,
            household: stringFlag(args, 'household') ?? null,
            password: stringFlag(args, 'password') ?? null,
          }),
        );
        const scope = r.user.role === 'station' ? 'all teams' : r.user.role === 'team-leader' ? `team ${r.user.team}` : `household ${r.user.household}`;
        io.stdout(`created ${r.user.role} user ${r.user.username} (${scope})\n`);
        if (r.generated) io.stdout(`password: ${r.password}\n`);
        return 0;
      }
      case 'passwd': {
        const args = parseCommandArgs(rest, { password: { type: 'string' }, ...COMMON }, { min: 1, max: 1, names: 'NAME' });
        const name = args.positionals[0]!;
        const r = await withStore(io, args, (store) => store.setPassword(name, stringFlag(args, 'password') ?? null));
        io.stdout(`password of ${name} changed; their sessions were ended\n`);
        if (r.generated) io.stdout(`password: ${r.password}\n`);
        return 0;
      }
      case 'remove': {
        const args = parseCommandArgs(rest, COMMON, { min: 1, max: 1, names: 'NAME' });
        const name = args.positionals[0]!;
        await withStore(io, args, async (store) => store.removeUser(name));
        io.stdout(`removed user ${name}\n`);
        return 0;
      }
      case 'list': {
        const args = parseCommandArgs(rest, COMMON);
        const users = await withStore(io, args, async (store) => store.listUsers());
        io.stdout(
          formatTable(
            ['USER', 'ROLE', 'TEAM', 'HOUSEHOLD'],
            users.map((u) => [u.username, u.role, u.team ?? '', u.household ?? '']),
          ),
        );
        return 0;
      }
      case undefined:
        throw new UsageError('missing subcommand: add, passwd, remove or list');
      default:
        throw new UsageError(`unknown subcommand "${sub}": use add, passwd, remove or list`);
    }
  },
};
