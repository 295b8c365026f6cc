import { existsSync } from 'node:fs';
import { ConfigError, loadConfig, type Config } from '../config/load-config.js';
import { CliContext, EXIT_USAGE } from './context.js';

/** The config the command runs with and the packs folder it uses. */
export interface CommandSetup {
  /** Undefined when no config file was named and config/microtune.yaml does not exist. */
  config: Config | undefined;
  packsFolder: string;
}

const DEFAULT_CONFIG = 'config/microtune.yaml';
const FALLBACK_PACKS_FOLDER = 'packs';

/**
 * Loads the config named by `--config`, else by MICROTUNE_CONFIG, else
 * config/microtune.yaml, and returns its packs folder. Without a named
 * config and without the default file, the packs folder is ./packs. Throws
 * CliError (exit 2) for a named config that is missing or any invalid config.
 */
export function loadCommandSetup(context: CliContext, configOption: string | undefined): CommandSetup {
  const named = configOption ?? nonEmpty(context.io.env.MICROTUNE_CONFIG);
  const file = context.resolve(named ?? DEFAULT_CONFIG);
  if (!existsSync(file)) {
    if (named !== undefined) {
      throw context.error(EXIT_USAGE, 'readFailed', { file: context.display(file), reason: context.text('reasonNotFound') });
    }
    return { config: undefined, packsFolder: context.resolve(FALLBACK_PACKS_FOLDER) };
  }

  try {
    const config = loadConfig(file, context.io.env);
    return { config, packsFolder: config.packsPath };
  } catch (error) {
    if (error instanceof ConfigError) throw context.error(EXIT_USAGE, 'configInvalid', { detail: error.message });
    throw error;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
