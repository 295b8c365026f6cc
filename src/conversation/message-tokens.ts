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
 * tokenised.
 */
export class MessageTokenCounter {
  private readonly cache = new LRUCache<string, number>({ max: 50_000 });

  count(message: Message): number {
    const key = createHash('sha1').update(JSON.stringify(message)).digest('base64');
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const tokens = countTokens(messageText(message)) + PER_MESSAGE_OVERHEAD;
    this.cache.set(key, tokens);
    return tokens;
  }
}
