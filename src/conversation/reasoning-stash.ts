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

/**
 * The in-process stash. Its LRU cache is created on the first `set`, because
 * lru-cache allocates arrays for all `maxEntries` entries up front (about
 * 380 KB of heap for the default 10,000), and only upstream responses with
 * tool calls fill it.
 */
export class MemoryReasoningStash implements ReasoningStash {
  private cache: LRUCache<string, string> | undefined;
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly maxEntryChars: number;

  constructor(options: MemoryStashOptions) {
    this.maxEntries = Math.max(1, options.maxEntries);
    this.ttlMs = Math.max(1, options.ttlMs);
    this.maxEntryChars = options.maxEntryChars ?? 256 * 1024;
  }

  async get(toolCallId: string): Promise<string | undefined> {
    return this.cache?.get(toolCallId);
  }

  async set(toolCallIds: readonly string[], reasoning: string): Promise<void> {
    if (reasoning.length > this.maxEntryChars) return;
    this.cache ??= new LRUCache({ max: this.maxEntries, ttl: this.ttlMs });
    for (const id of toolCallIds) this.cache.set(id, reasoning);
  }

  get size(): number {
    return this.cache?.size ?? 0;
  }
}
