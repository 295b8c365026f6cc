/** Settings read from the environment before the config file. */
export interface ServerEnv {
  host: string;
  port: number;
  configFile: string;
  logLevel: string;
  /** Redis for state shared between replicas; undefined keeps everything in memory. */
  redisUrl: string | undefined;
}

export function readServerEnv(env: Record<string, string | undefined>): ServerEnv {
  const portText = env.PORT ?? '8787';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT is "${portText}"; it must be an integer from 0 to 65535`);
  }
  return {
    host: env.HOST ?? '127.0.0.1',
    port,
    configFile: env.MICROTUNE_CONFIG ?? 'config/microtune.yaml',
    logLevel: env.LOG_LEVEL ?? 'info',
    redisUrl: env.REDIS_URL !== undefined && env.REDIS_URL.trim() !== '' ? env.REDIS_URL.trim() : undefined,
  };
}
