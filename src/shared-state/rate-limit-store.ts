import { createRequire } from 'node:module';
import type { SharedRedis } from './shared-redis.js';

const require = createRequire(import.meta.url);

type Callback = (error: Error | null, result: { current: number; ttl: number } | null) => void;

interface Store {
  incr(key: string, callback: Callback, timeWindow: number, max: number): void;
  child(routeOptions: unknown): Store;
}

type StoreConstructor = new (...args: unknown[]) => Store;

// The plugin ships both stores as CommonJS files without type declarations.
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as StoreConstructor;
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as StoreConstructor;

interface GlobalParams {
  continueExceeding: boolean;
  exponentialBackoff: boolean;
}

/**
 * A rate-limit store class for @fastify/rate-limit that counts in Redis, so
 * all replicas share one limit per key, and counts locally while Redis is
 * down, so a replica that loses Redis keeps limiting on its own.
 */
export function sharedRateLimitStore(redis: SharedRedis): StoreConstructor {
  return class SharedRateLimitStore implements Store {
    private readonly shared: Store;
    private readonly local: Store;

    constructor(params: unknown, shared?: Store, local?: Store) {
      const { continueExceeding, exponentialBackoff } = params as GlobalParams;
      this.shared = shared ?? new RedisStore(continueExceeding, exponentialBackoff, redis.client, 'rate-limit:');
      this.local = local ?? new LocalStore(continueExceeding, exponentialBackoff);
    }

    incr(key: string, callback: Callback, timeWindow: number, max: number): void {
      if (!redis.isReady) {
        redis.fallback('rate_limit');
        this.local.incr(key, callback, timeWindow, max);
        return;
      }
      this.shared.incr(
        key,
        (error, result) => {
          if (error === null) {
            redis.succeeded();
            callback(null, result);
            return;
          }
          redis.fallback('rate_limit', error);
          this.local.incr(key, callback, timeWindow, max);
        },
        timeWindow,
        max,
      );
    }

    child(routeOptions: unknown): Store {
      return new SharedRateLimitStore(routeOptions, this.shared.child(routeOptions), this.local.child(routeOptions));
    }
  } as unknown as StoreConstructor;
}
