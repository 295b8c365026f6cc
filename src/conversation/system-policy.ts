import { invalidRequest } from '../errors/proxy-error.js';

export type SystemMessagePolicy = 'keep' | 'merge' | 'reject';

type Message = Record<string, unknown> & { role: string };

const SYSTEM_ROLES = new Set(['system', 'developer']);

/** The text of a message's content: a string, or the text parts of a parts array. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => {
      const item = part as { type?: unknown; text?: unknown } | null;
      return item?.type === 'text' && typeof item.text === 'string' ? item.text : '';
    })
    .filter((text) => text !== '')
    .join('\n');
}

export interface SystemPolicyResult {
  messages: Message[];
  /**
   * Text of the single system message that replaces the pack's and the
   * client's (merge policy), or undefined when the pack goes first as its own
   * message.
   */
  mergedSystem: string | undefined;
}

/**
 * Applies an alias's policy for the client's own system messages: keep them
 * after the pack's, merge everything into one system message at the start
 * (for chat templates that accept only one), or reject the request.
 * `proxySystem` is a system message of the proxy's own (a recap): it goes
 * right after the pack, or into the merged message, and is never rejected.
 */
export function applySystemPolicy(
  messages: Message[],
  policy: SystemMessagePolicy,
  packText: string | undefined,
  proxySystem?: string,
): SystemPolicyResult {
  const withProxySystem = (list: Message[]): Message[] =>
    proxySystem === undefined ? list : [{ role: 'system', content: proxySystem }, ...list];

  if (policy === 'reject') rejectSystemMessages(messages);
  if (policy !== 'merge') return { messages: withProxySystem(messages), mergedSystem: undefined };

  const systemIndexes = messages.flatMap((message, index) => (SYSTEM_ROLES.has(message.role) ? [index] : []));
  if (systemIndexes.length === 0 && proxySystem === undefined) return { messages, mergedSystem: undefined };
  const texts = systemIndexes.map((index) => contentText(messages[index]?.content)).filter((text) => text.trim() !== '');
  const merged = [packText, proxySystem, ...texts]
    .filter((text): text is string => text !== undefined && text !== '')
    .join('\n\n');
  return { messages: messages.filter((message) => !SYSTEM_ROLES.has(message.role)), mergedSystem: merged };
}

/** Throws 400 when a client message has a system or developer role. */
export function rejectSystemMessages(messages: Message[]): void {
  const first = messages.findIndex((message) => SYSTEM_ROLES.has(message.role));
  if (first === -1) return;
  throw invalidRequest(
    `This model does not accept system messages from clients (messages[${first}] has role "${messages[first]?.role}"); ` +
      'the proxy supplies the system prompt. Send the text as a user message instead.',
    `messages[${first}].role`,
    'system_message_rejected',
  );
}
