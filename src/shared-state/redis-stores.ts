import type { ReasoningStash } from '../conversation/reasoning-stash.js';
import { MemoryReasoningStash } from '../conversation/reasoning-stash.js';
import type { RecapStore } from '../conversation/recap.js';
import { MemoryRecapStore } from '../conversation/recap.js';
import type { SharedRedis } from './shared-redis.js';

const RECAP_TTL_MS = 24 * 3_600_000;

/**
 * The reasoning stash in Redis, so a tool-call turn answered by one replica
 * can be completed through another. Every entry is also kept locally, so a
 * replica that loses Redis still serves what it stashed itself.
 */
export class RedisReasoningStash implements ReasoningStash {
  private readonly redis: SharedRedis;
  private readonly local: MemoryReasoningStash;
  private readonly ttlMs: number;

  constructor(redis: SharedRedis, options: { maxEntries: number; ttlMs: number }) {
    this.redis = redis;
    this.local = new MemoryReasoningStash(options);
    this.ttlMs = options.ttlMs;
  }

  async get(toolCallId: string): Promise<string | undefined> {
    const shared = await this.redis.use(
      'stash_get',
      async (client) => (await client.get(`stash:${toolCallId}`)) ?? undefined,
      () => undefined,
    );
    return shared ?? this.local.get(toolCallId);
  }

  async set(toolCallIds: readonly string[], reasoning: string): Promise<void> {
    await this.local.set(toolCallIds, reasoning);
    await this.redis.use(
      'stash_set',
      async (client) => {
        const pipeline = client.multi();
        for (const id of toolCallIds) pipeline.set(`stash:${id}`, reasoning, 'PX', this.ttlMs);
        await pipeline.exec();
      },
      () => undefined,
    );
  }
}

/** The recap cache in Redis, so replicas share recaps and each dropped span is summarised once. */
export class RedisRecapStore implements RecapStore {
  private readonly redis: SharedRedis;
  private readonly local = new MemoryRecapStore();

  constructor(redis: SharedRedis) {
    this.redis = redis;
  }

  async get(key: string): Promise<string | undefined> {
    const shared = await this.redis.use('recap_get', async (client) => (await client.get(`recap:${key}`)) ?? undefined, () => undefined);
    return shared ?? this.local.get(key);
  }

  async set(key: string, recap: string): Promise<void> {
    await this.local.set(key, recap);
    await this.redis.use('recap_set', async (client) => void (await client.set(`recap:${key}`, recap, 'PX', RECAP_TTL_MS)), () => undefined);
  }
}
