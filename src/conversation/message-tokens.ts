import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { countTokens } from '../packs/count-tokens.js';
import { contentText } from './system-policy.js';

/** Tokens a chat template adds around each message (role markers); an estimate. */
const PER_MESSAGE_OVERHEAD = 4;

type Message = Record<string, unknown> & { role: string };

function messageText(message: Message): string {
  let text = contentText(message.content);
  if (Array.isArray(message.tool_calls)) text += JSON.stringify(message.tool_calls);
  if (typeof message.reasoning_content === 'string') text += message.reasoning_content;
  return text;
}

/**
 * Token counts of messages, cached by a hash of the message. A long chat
 * sends the same old messages with every turn, so only the new ones are
 * tokenised. The cache is created on the first count, because lru-cache
 * allocates arrays for all 50,000 entries up front (about 1.1 MB of heap),
 * and a server without context fitting never counts.
 */
export class MessageTokenCounter {
  private cache: LRUCache<string, number> | undefined;

  count(message: Message): number {
    this.cache ??= new LRUCache<string, number>({ max: 50_000 });
    const key = createHash('sha1').update(JSON.stringify(message)).digest('base64');
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const tokens = countTokens(messageText(message)) + PER_MESSAGE_OVERHEAD;
    this.cache.set(key, tokens);
    return tokens;
  }
}
