import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { stringify as toYaml } from 'yaml';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/logger.js';
import { loadPackSet } from '../../src/packs/load-packs.js';
import { ProxyState } from '../../src/proxy/proxy-state.js';
import { buildServer } from '../../src/server.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { sharedRateLimitStore } from '../../src/shared-state/rate-limit-store.js';
import { RedisReasoningStash, RedisRecapStore } from '../../src/shared-state/redis-stores.js';
import { SharedRedis } from '../../src/shared-state/shared-redis.js';

export interface TestProxy {
  url: string;
  baseUrl: string;
  app: FastifyInstance;
  state: ProxyState;
  /** Every log line written so far, parsed. */
  logs: Record<string, unknown>[];
  /** Every log line written so far, raw. */
  rawLogs: string[];
  folder: string;
  /** The shared Redis connection, when `redisUrl` was given. */
  redis: SharedRedis | undefined;
  client: (options?: { apiKey?: string; defaultHeaders?: Record<string, string> }) => OpenAI;
  close: () => Promise<void>;
}

export interface TestProxyOptions {
  /** Config object, written as YAML into a temporary folder. */
  config: Record<string, unknown>;
  /** Pack files by file name, e.g. { 'hero.yaml': {...} } or raw text. */
  packs?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
  /** Share state through this Redis, as REDIS_URL does for the real server. */
  redisUrl?: string;
}

/** Writes config and packs to a temporary folder and starts the real server on 127.0.0.1. */
export async function startProxy(options: TestProxyOptions): Promise<TestProxy> {
  const folder = mkdtempSync(path.join(tmpdir(), 'microtune-test-'));
  const packsFolder = path.join(folder, 'packs');
  mkdirSync(packsFolder);
  for (const [fileName, content] of Object.entries(options.packs ?? {})) {
    const text =
      typeof content === 'string'
        ? content
        : fileName.endsWith('.json')
          ? JSON.stringify(content)
          : toYaml(content);
    writeFileSync(path.join(packsFolder, fileName), text);
  }
  const configFile = path.join(folder, 'config', 'microtune.yaml');
  mkdirSync(path.dirname(configFile));
  writeFileSync(configFile, toYaml({ packsDir: '../packs', ...options.config }));

  const rawLogs: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        rawLogs.push(line);
        logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });

  const config = loadConfig(configFile, options.env ?? {});
  const logger = createLogger({ level: 'debug', destination });
  const metrics = new Metrics({ defaultMetrics: false });
  const redis = options.redisUrl === undefined ? undefined : new SharedRedis(options.redisUrl, { logger, metrics });
  const state = new ProxyState(config, loadPackSet(config.packsPath), {
    metrics,
    reasoningStash: redis === undefined ? undefined : new RedisReasoningStash(redis, config.reasoningStash),
    recapStore: redis === undefined ? undefined : new RedisRecapStore(redis),
  });
  const app = await buildServer({
    state,
    logger,
    rateLimitStore: redis === undefined ? undefined : sharedRateLimitStore(redis),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    baseUrl: `${url}/v1`,
    app,
    state,
    logs,
    rawLogs,
    folder,
    client: (clientOptions = {}) =>
      new OpenAI({
        baseURL: `${url}/v1`,
        apiKey: clientOptions.apiKey ?? 'sk-client-test',
        defaultHeaders: clientOptions.defaultHeaders,
        maxRetries: 0,
        timeout: 15_000,
      }),
    redis,
    close: async () => {
      await app.close();
      await state.destroy();
      await redis?.close();
    },
  };
}
