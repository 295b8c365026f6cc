import { Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from '../metrics/metrics.js';

/**
 * One Redis connection shared by the rate limit, the reasoning stash and the
 * recap cache. Commands fail at once while Redis is down (no offline queue),
 * so callers fall back to local state instead of waiting. The client keeps
 * reconnecting in the background, and callers use Redis again once it is back.
 */
export class SharedRedis {
  readonly client: Redis;
  private readonly logger: FastifyBaseLogger;
  private readonly metrics: Metrics | undefined;
  private degraded = false;

  constructor(url: string, options: { logger: FastifyBaseLogger; metrics?: Metrics; keyPrefix?: string }) {
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.client = new Redis(url, {
      keyPrefix: options.keyPrefix ?? 'microtune:',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      commandTimeout: 1_000,
      retryStrategy: (attempt) => Math.min(200 * attempt, 2_000),
      lazyConnect: false,
    });
    // ioredis reports every failed reconnect here; the outage is logged once in fallback().
    this.client.on('error', () => undefined);
    this.client.on('ready', () => this.succeeded());
  }

  get isReady(): boolean {
    return this.client.status === 'ready';
  }

  /**
   * Records that a Redis command succeeded. Ends an outage, including one where the
   * connection stayed open and only commands timed out, so the next outage
   * is logged again.
   */
  succeeded(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.logger.info('Redis is reachable again; shared state is back in use');
  }

  /** Records that an operation used local state because Redis failed; logs once per outage. */
  fallback(operation: string, error?: unknown): void {
    this.metrics?.observeRedisFallback(operation);
    if (this.degraded) return;
    this.degraded = true;
    this.logger.warn({ err: error, operation }, 'Redis is unavailable; using local state until it returns');
  }

  /** Runs `operation` on Redis, or `local` when Redis is down or the command fails. */
  async use<T>(name: string, operation: (client: Redis) => Promise<T>, local: () => T | Promise<T>): Promise<T> {
    if (!this.isReady) {
      this.fallback(name);
      return local();
    }
    try {
      const result = await operation(this.client);
      this.succeeded();
      return result;
    } catch (error) {
      this.fallback(name, error);
      return local();
    }
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
