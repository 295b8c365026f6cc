import { LRUCache } from 'lru-cache';

/**
 * Reasoning the proxy removed from answers that made tool calls, keyed by
 * tool call id. DeepSeek's thinking mode rejects (400) a follow-up request
 * whose assistant tool-call message lacks the reasoning_content it was
 * produced with; clients that never saw the reasoning cannot send it back,
 * so the proxy re-attaches it from here.
 */
export interface ReasoningStash {
  get(toolCallId: string): Promise<string | undefined>;
  set(toolCallIds: readonly string[], reasoning: string): Promise<void>;
}

export interface MemoryStashOptions {
  maxEntries: number;
  ttlMs: number;
  /** Entries larger than this are not kept, so one huge monologue cannot fill memory. */
  maxEntryChars?: number;
}

export class MemoryReasoningStash implements ReasoningStash {
  private readonly cache: LRUCache<string, string>;
  private readonly maxEntryChars: number;

  constructor(options: MemoryStashOptions) {
    this.cache = new LRUCache({ max: Math.max(1, options.maxEntries), ttl: Math.max(1, options.ttlMs) });
    this.maxEntryChars = options.maxEntryChars ?? 256 * 1024;
  }

  async get(toolCallId: string): Promise<string | undefined> {
    return this.cache.get(toolCallId);
  }

  async set(toolCallIds: readonly string[], reasoning: string): Promise<void> {
    if (reasoning.length > this.maxEntryChars) return;
    for (const id of toolCallIds) this.cache.set(id, reasoning);
  }

  get size(): number {
    return this.cache.size;
  }
}
