#!/usr/bin/env node
// First import, so the heap growth flag is set before the other modules load.
import './runtime/apply-heap-growth.js';
import { ConfigError, loadConfig, type Config } from './config/load-config.js';
import { readServerEnv } from './config/server-env.js';
import { createLogger } from './logger.js';
import { loadPackSet, type PackSet } from './packs/load-packs.js';
import { ProxyState } from './proxy/proxy-state.js';
import { Reloader } from './runtime/reloader.js';
import { shutdown } from './runtime/shutdown.js';
import { buildServer } from './server.js';
import { Metrics } from './metrics/metrics.js';
import type { SharedState } from './shared-state/open-shared-state.js';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function loadOrExit(configFile: string): { config: Config; packSet: PackSet } {
  let config: Config;
  try {
    config = loadConfig(configFile);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  try {
    return { config, packSet: loadPackSet(config.packsPath) };
  } catch (error) {
    fail(`${config.file}: packsDir: cannot read ${config.packsPath}: ${(error as Error).message}`);
  }
}

async function main(): Promise<void> {
  let env;
  try {
    env = readServerEnv(process.env);
  } catch (error) {
    fail((error as Error).message);
  }
  const logger = createLogger({ level: env.logLevel });
  const { config, packSet } = loadOrExit(env.configFile);
  const metrics = new Metrics();
  // Loaded only with REDIS_URL, so a server without Redis does not load ioredis.
  let shared: SharedState | undefined;
  if (env.redisUrl !== undefined) {
    const { openSharedState } = await import('./shared-state/open-shared-state.js');
    shared = openSharedState(env.redisUrl, { logger, metrics, reasoningStash: config.reasoningStash });
  }
  const redis = shared?.redis;
  const state = new ProxyState(config, packSet, {
    metrics,
    reasoningStash: shared?.reasoningStash,
    recapStore: shared?.recapStore,
  });
  for (const failure of packSet.failures.values()) {
    state.metrics.observePackRejection(failure.name);
    logger.error({ pack: failure.name, file: failure.file, problem: failure.problem }, 'pack left out');
  }
  for (const warning of packSet.warnings ?? []) {
    logger.warn({ pack: warning.name, file: warning.file, line: warning.line, rule: warning.rule, problem: warning.message }, 'pack lint warning');
  }
  const app = await buildServer({
    state,
    logger,
    rateLimitStore: shared?.rateLimitStore,
  });
  const reloader = new Reloader({ state, logger: app.log });
  await app.listen({ host: env.host, port: env.port });
  reloader.start();
  logger.info(
    {
      packs: [...packSet.packs.keys()],
      aliases: Object.keys(config.aliases),
      config: config.file,
      packSetHash: packSet.hash,
      sharedState: redis === undefined ? 'memory' : 'redis',
    },
    'microtune ready',
  );

  process.on('SIGHUP', () => reloader.reload('SIGHUP'));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const graceMs = state.snapshot.config.server.shutdownGraceMs;
    logger.info({ signal, graceMs }, 'shutting down');
    shutdown({ app, state, reloader, graceMs })
      .then(() => redis?.close())
      .then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  fail(`microtune failed to start: ${error instanceof Error ? error.message : String(error)}`);
});
