import { createHash } from 'node:crypto';
import type { VariantConfig } from '../config/schema.js';
import { contentText } from './system-policy.js';

export const CONVERSATION_HEADER = 'x-microtune-conversation';

type Message = Record<string, unknown> & { role: string };

/**
 * The key that keeps a conversation on one variant: the client's
 * conversation id when it sends one, else the first user message, which
 * stays the same for every turn of a chat.
 */
export function conversationKey(header: string | string[] | undefined, messages: Message[]): string {
  const id = Array.isArray(header) ? header[0] : header;
  if (id !== undefined && id.trim() !== '') return `id:${id.trim()}`;
  const firstUser = messages.find((message) => message.role === 'user');
  return `first:${firstUser === undefined ? '' : contentText(firstUser.content)}`;
}

/** Picks a variant for a key, in proportion to the weights; the same key always gets the same variant. */
export function chooseVariant(variants: readonly VariantConfig[], key: string): VariantConfig {
  const total = variants.reduce((sum, variant) => sum + variant.weight, 0);
  // 48 bits of the hash give a point in [0, 1) fine enough for any weights.
  const point = (createHash('sha256').update(key).digest().readUIntBE(0, 6) / 2 ** 48) * total;
  let upper = 0;
  for (const variant of variants) {
    upper += variant.weight;
    if (point < upper) return variant;
  }
  return variants[variants.length - 1]!;
}
