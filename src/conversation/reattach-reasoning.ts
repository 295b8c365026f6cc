import type { ReasoningStash } from './reasoning-stash.js';

type Message = Record<string, unknown> & { role: string };

function firstToolCallId(message: Message): string | undefined {
  if (!Array.isArray(message.tool_calls)) return undefined;
  for (const call of message.tool_calls) {
    const id = (call as { id?: unknown } | null)?.id;
    if (typeof id === 'string' && id !== '') return id;
  }
  return undefined;
}

/**
 * Puts stashed reasoning back on assistant tool-call messages that come
 * without it. Returns the same array when nothing changed; changed messages
 * are copies, so the client's request object is never modified.
 */
export async function reattachReasoning(messages: Message[], stash: ReasoningStash): Promise<{ messages: Message[]; reattached: number }> {
  let result = messages;
  let reattached = 0;
  for (const [index, message] of messages.entries()) {
    if (message.role !== 'assistant' || typeof message.reasoning_content === 'string') continue;
    const id = firstToolCallId(message);
    if (id === undefined) continue;
    const reasoning = await stash.get(id);
    if (reasoning === undefined) continue;
    if (result === messages) result = [...messages];
    result[index] = { ...message, reasoning_content: reasoning };
    reattached += 1;
  }
  return { messages: result, reattached };
}
