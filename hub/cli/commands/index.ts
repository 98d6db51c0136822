/**
 * The `smokehub` commands. Each command is one module; to add one, write
 * `hub/cli/commands/NAME.ts` exporting a CliCommand and add ONE line to this table.
 */
import type { CliCommand } from '../command.ts';
import { startCommand } from './start.ts';
import { importCommand } from './import.ts';
import { userCommand } from './user.ts';
import { householdsCommand } from './households.ts';
import { alarmsCommand } from './alarms.ts';
import { equipmentCommand } from './equipment.ts';
import { tlsCommand } from './tls.ts';
import { migrateCommand } from './migrate.ts';

export const COMMANDS: CliCommand[] = [
  startCommand,
  importCommand,
  userCommand,
  householdsCommand,
  alarmsCommand,
  equipmentCommand,
  tlsCommand,
  migrateCommand,
];

export function findCommand(name: string): CliCommand | undefined {
  return COMMANDS.find((c) => c.name === name);
}
