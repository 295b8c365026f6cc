#!/usr/bin/env node
import { ConfigError, loadConfig } from './config/load-config.js';
import { readServerEnv } from './config/server-env.js';
import { createLogger } from './logger.js';
import { loadPackSet } from './packs/load-packs.js';
import { ProxyState } from './proxy/proxy-state.js';
import { buildServer } from './server.js';

async function main(): Promise<void> {
  const env = readServerEnv(process.env);
  const logger = createLogger({ level: env.logLevel });

  let config;
  try {
    config = loadConfig(env.configFile);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  let packSet;
  try {
    packSet = loadPackSet(config.packsPath);
  } catch (error) {
    process.stderr.write(`${config.file}: packsDir: cannot read ${config.packsPath}: ${(error as Error).message}\n`);
    process.exit(1);
  }
  for (const failure of packSet.failures.values()) {
    logger.error({ pack: failure.name, file: failure.file, problem: failure.problem }, 'pack left out');
  }

  const state = new ProxyState(config, packSet);
  const app = buildServer({ state, logger });
  await app.listen({ host: env.host, port: env.port });
  logger.info(
    { packs: [...packSet.packs.keys()], aliases: Object.keys(config.aliases), config: config.file },
    'microtune ready',
  );

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    void app.close().then(
      () => state.close().then(() => process.exit(0)),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`microtune failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
