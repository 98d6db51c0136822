/** `smokehub households [--team T]`: the enrolled households as a table. */
import { formatTable } from '../table.ts';
import { parseCommandArgs, stringFlag } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { cliConfig, openRegistry } from '../data-dir.ts';

export const householdsCommand: CliCommand = {
  name: 'households',
  summary: 'list enrolled households with their devices',
  help: `Usage: smokehub households [--team T] [--data DIR]

Lists households (team, id, name, address, phone numbers in E.164, position, devices), sorted by team.
Options:
  --team T     only team T (an unknown team is an error, exit 1)
  --data DIR   data directory (env SMOKEHUB_DATA, default ./data)`,
  async run(argv, io) {
    const args = parseCommandArgs(argv, { team: { type: 'string' }, data: { type: 'string' } });
    const team = stringFlag(args, 'team');
    const config = cliConfig(io, stringFlag(args, 'data'));
    const { db, store } = openRegistry(config, true);
    try {
      if (team !== undefined) store.requireTeam(team);
      const households = store.listHouseholds(team === undefined ? {} : { team }).sort((a, b) => a.team.localeCompare(b.team) || a.id.localeCompare(b.id));
      const rows = households.map((h) => {
        const devices = store.listDevices({ household: h.id });
        return [
          h.team,
          h.id,
          h.name,
          h.address,
          h.phones.join(' '),
          h.lat === null || h.lon === null ? '' : `${h.lat},${h.lon}`,
          devices.map((d) => `${d.id}(${d.kind})`).join(' '),
        ];
      });
      io.stdout(formatTable(['TEAM', 'HOUSEHOLD', 'NAME', 'ADDRESS', 'PHONE', 'LAT,LON', 'DEVICES'], rows, [24, 24, 30, 40, 40, 24, 80]));
      io.stderr(`${households.length} household${households.length === 1 ? '' : 's'}${team === undefined ? '' : ` in team ${team}`}\n`);
      return 0;
    } finally {
      db.close();
    }
  },
};
