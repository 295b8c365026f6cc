import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { contentText } from './system-policy.js';

type Message = Record<string, unknown> & { role: string };

/** Cached recaps by a hash of the dropped messages; shared through Redis when configured. */
export interface RecapStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, recap: string): Promise<void>;
}

/** The in-process recap store. Its LRU cache, about 80 KB of preallocated heap, is created on the first `set`. */
export class MemoryRecapStore implements RecapStore {
  private cache: LRUCache<string, string> | undefined;

  async get(key: string): Promise<string | undefined> {
    return this.cache?.get(key);
  }

  async set(key: string, recap: string): Promise<void> {
    this.cache ??= new LRUCache<string, string>({ max: 2_000, ttl: 24 * 3_600_000 });
    this.cache.set(key, recap);
  }
}

export function recapKey(dropped: Message[]): string {
  return createHash('sha256').update(JSON.stringify(dropped)).digest('hex');
}

/** True when at least a fifth of the letters are CJK, so the recap instructions are written in Chinese. */
export function isMostlyChinese(text: string): boolean {
  const letters = text.match(/[\p{L}]/gu)?.length ?? 0;
  const cjk = text.match(/[\p{Script=Han}]/gu)?.length ?? 0;
  return letters > 0 && cjk / letters >= 0.2;
}

function transcript(dropped: Message[]): string {
  return dropped
    .filter((message) => message.role === 'user' || message.role === 'assistant')
    .map((message) => `${message.role}: ${contentText(message.content)}`)
    .filter((line) => !line.endsWith(': '))
    .join('\n\n');
}

/**
 * The chat messages of the request for a recap of
 * `dropped`. An earlier recap, when given, covers the turns before them.
 */
export function buildRecapRequest(
  dropped: Message[],
  maxTokens: number,
  earlierRecap?: string,
): { role: string; content: string }[] {
  const text = transcript(dropped);
  const chinese = isMostlyChinese(`${earlierRecap ?? ''}${text}`);
  const instructions = chinese
    ? `下面是一段角色扮演对话较早的部分。请用对话本身的语言写一段简短的前情提要（不超过 ${maxTokens} 个词元）：人物和他们的关系、已经发生的事、尚未了结的线索和约定。只写提要本身，不要评论，不要写内心独白。`
    : `Below is the earlier part of a role-play conversation. Write a short recap of it in the conversation's own language (at most ${maxTokens} tokens): the characters and their relationships, what has happened, open threads and promises. Write only the recap, no commentary and no inner monologue.`;
  let content = text;
  if (earlierRecap !== undefined) {
    content = chinese
      ? `更早的前情提要：\n${earlierRecap}\n\n之后的对话：\n${text}`
      : `Recap of what came before:\n${earlierRecap}\n\nThe conversation after that:\n${text}`;
  }
  return [
    { role: 'system', content: instructions },
    { role: 'user', content },
  ];
}

/** Returns the system message that replaces the dropped turns. */
export function recapMessage(recap: string, droppedTurns: number): { role: 'system'; content: string } {
  const content = isMostlyChinese(recap)
    ? `前情提要（较早的 ${droppedTurns} 轮对话已省略）：\n${recap}`
    : `Recap of the earlier conversation (${droppedTurns} turns omitted):\n${recap}`;
  return { role: 'system', content };
}
