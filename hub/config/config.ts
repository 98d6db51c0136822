/**
 * Hub configuration: defaults < JSON file (--config FILE, or DATA/config.json) < env < flags.
 * The settings are the table of hub-settings.ts, loaded by the loader the bridge shares
 * (config-loader.ts): every bad setting is reported at once, each with where its value came from,
 * in one ConfigError at start-up; the loaded configuration is frozen.
 */
import { join, resolve } from 'node:path';
import { ConfigError } from '../protocol/errors.ts';
import { readSettingsFile } from './config-file.ts';
import { type SettingsOf, formatProblems, loadSettings, settingsHelp } from './config-loader.ts';
import { CONFIG_SPEC, HUB_KINDS } from './hub-settings.ts';

export { CONFIG_SPEC, isValidCron, isValidTimezone } from './hub-settings.ts';

export type ConfigKey = keyof typeof CONFIG_SPEC;
export type HubConfig = SettingsOf<typeof CONFIG_SPEC>;

export interface LoadConfigOptions {
  /** Parsed command-line flags, by flag name (`mqtt-port`) — strings as typed. */
  flags?: Record<string, string | undefined>;
  env?: Record<string, string | undefined>;
  /** Explicit config file; when absent, DATA/config.json is read if it exists. */
  configFile?: string;
}

/** The frozen configuration; a ConfigError listing every bad setting (flags that are no setting are left to the CLI parser). */
export function loadConfig(opts: LoadConfigOptions = {}): HubConfig {
  const flags = opts.flags ?? {};
  const env = opts.env ?? process.env;
  const explicit = opts.configFile ?? flags.config ?? env.SMOKEHUB_CONFIG;
  const dataDirGuess = flags.data ?? env.SMOKEHUB_DATA ?? CONFIG_SPEC.dataDir.default;
  const file = explicit ?? join(dataDirGuess, 'config.json');
  const read = readSettingsFile(file, Boolean(explicit));
  const loaded = loadSettings(CONFIG_SPEC, { flags, env, file: read.file, problems: read.problems }, { kinds: HUB_KINDS });
  if (!loaded.ok) throw new ConfigError(formatProblems(loaded.problems));
  const v = loaded.values;
  // A cluster node needs both shared engines: PostgreSQL alone would split the MQTT bus, Redis alone the alarms.
  if ((v.postgres === null) !== (v.redis === null))
    throw new ConfigError(
      `--postgres and --redis go together (a cluster node needs both; docs/cluster.md): only ${v.postgres ? '--postgres' : '--redis'} was given`,
    );
  // Frozen: nothing changes the configuration behind the hub's back once it is loaded.
  return Object.freeze({ ...loaded.values, dataDir: resolve(loaded.values.dataDir) });
}

/** Help lines for `smokehub start --help`. */
export function configHelp(): string {
  return settingsHelp(CONFIG_SPEC, 26);
}
