import type { ServerResponse } from 'node:http';
import { countTokens } from '../../src/packs/count-tokens.js';
import type { RecordedRequest } from '../helpers/upstream.js';

export type ChatMessage = Record<string, unknown> & { role: string };

/** Tokens the proxy adds per message for role markers (MessageTokenCounter uses the same estimate). */
export const MESSAGE_OVERHEAD_TOKENS = 4;

/** The innkeeper pack that the end-to-end tests put in front of every conversation. */
export const INNKEEPER_PACK = {
  name: 'innkeeper',
  preamble: '你是青石镇“归燕客栈”的掌柜林素，说话温和、爱讲镇上的旧事。始终用中文回答，不替用户做决定。',
};

/** mulberry32: a small seeded generator, so every run builds the same conversation. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const PEOPLE = ['林掌柜', '小满', '阿青', '沈捕头', '白先生', '云娘', '老周', '说书人', '船家陈伯', '药铺的许大夫'];
const PLACES = ['客栈后院', '渡口', '山门前的石阶', '早市', '藏书阁', '城隍庙', '桥头茶摊', '竹林小径', '码头仓库', '镇口老槐树下'];
const THINGS = ['一只铜铃', '一张旧地图', '一把油纸伞', '半块玉佩', '一个药箱', '一封没有署名的信', '一盏走马灯', '一包桂花糕', '一本缺页的账簿', '一枚生锈的钥匙'];
const ACTIONS = [
  '低声说起前天夜里的怪事',
  '把茶碗推到一边，认真看着对方',
  '笑着摇了摇头，说这事急不得',
  '从袖子里取出',
  '指着远处的灯火问那是谁家',
  '想起小时候在这里迷过路',
  '答应明天一早再去看看',
  '说雨停之前最好别出门',
  '把听来的消息一五一十讲了一遍',
  '叹了口气，说镇上好久没这么热闹了',
];
const WEATHER = ['细雨一直没停', '天刚擦黑', '集市散得早', '河面起了雾', '月亮很圆', '风里有桂花香', '灯笼一盏盏亮起来', '远处传来更鼓声'];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

const SAYINGS = [
  '这条路白天好走，夜里得提着灯',
  '账先记着，等你回来再算',
  '那位客人住了三天，一句话也没多说',
  '渡口的船今天只开到申时',
  '要是看见穿青衣的姑娘，替我带句好',
  '老槐树底下埋着的，不过是几坛酒',
];

/** Builds one sentence of role-play narration or speech from the word lists above. */
function sentence(random: () => number): string {
  const person = pick(random, PEOPLE);
  const kind = Math.floor(random() * 3);
  if (kind === 0) return `“${pick(random, SAYINGS)}。”${person}说。`;
  if (kind === 1) return `${pick(random, PLACES)}里放着${pick(random, THINGS)}，${person}看了${1 + Math.floor(random() * 9)}眼才认出来。`;
  const action = pick(random, ACTIONS);
  const object = action === '从袖子里取出' ? pick(random, THINGS) : '';
  return `${pick(random, WEATHER)}，${person}在${pick(random, PLACES)}${action}${object}。`;
}

/** Builds Chinese narration of `sentences` sentences; the same random state gives the same text. */
export function chineseText(random: () => number, sentences: number): string {
  const parts: string[] = [];
  for (let index = 0; index < sentences; index++) parts.push(sentence(random));
  return parts.join('');
}

/** A user message and the messages that respond to it (a reply, or tool calls, results and a reply). */
export interface Turn {
  user: ChatMessage;
  replies: ChatMessage[];
}

/** Builds turns of a Chinese role-play chat; each user message is numbered so no two are equal. */
export function chineseTurns(count: number, options: { seed?: number; userSentences?: number; assistantSentences?: number } = {}): Turn[] {
  const random = seededRandom(options.seed ?? 1);
  const turns: Turn[] = [];
  for (let index = 0; index < count; index++) {
    turns.push({
      user: { role: 'user', content: `（第 ${index + 1} 轮）${chineseText(random, options.userSentences ?? 2)}` },
      replies: [{ role: 'assistant', content: chineseText(random, options.assistantSentences ?? 3) }],
    });
  }
  return turns;
}

/** Builds a turn in which the assistant calls two tools, gets both results and then replies. */
export function toolTurn(index: number): Turn {
  const first = `call_${index}_hangzhou`;
  const second = `call_${index}_suzhou`;
  const call = (id: string, city: string) => ({ id, type: 'function', function: { name: 'get_weather', arguments: JSON.stringify({ city }) } });
  return {
    user: { role: 'user', content: `（第 ${index + 1} 轮）明天想坐船出门，杭州和苏州哪边天气好？` },
    replies: [
      { role: 'assistant', content: null, tool_calls: [call(first, '杭州'), call(second, '苏州')] },
      { role: 'tool', tool_call_id: first, content: '杭州：小雨转阴，十六到二十度，东风三级。' },
      { role: 'tool', tool_call_id: second, content: '苏州：多云，十八到二十三度，微风。' },
      { role: 'assistant', content: '林素翻了翻黄历，笑道：“苏州多云，风也小，坐船正合适；杭州怕是要下一整天雨。”' },
    ],
  };
}

/**
 * Returns the messages a client sends at turn `turn` (0-based): every earlier
 * turn with its replies, then the new user message, which has no reply yet.
 */
export function requestAt(turns: Turn[], turn: number, leading: ChatMessage[] = []): ChatMessage[] {
  const messages = [...leading];
  for (let index = 0; index < turn; index++) messages.push(turns[index]!.user, ...turns[index]!.replies);
  messages.push(turns[turn]!.user);
  return messages;
}

/** Lists tool calls split in `messages`: a result without its call, or a call without all of its results. */
export function splitToolPairs(messages: ChatMessage[]): string[] {
  const problems: string[] = [];
  const calledIds = new Set<string>();
  for (const [index, message] of messages.entries()) {
    if (message.role === 'assistant' && Array.isArray(message.tool_calls)) {
      for (const call of message.tool_calls as { id: string }[]) {
        calledIds.add(call.id);
        const answered = messages.slice(index + 1).some((later) => later.role === 'tool' && later.tool_call_id === call.id);
        if (!answered) problems.push(`call ${call.id} has no result`);
      }
    }
    if (message.role === 'tool' && !calledIds.has(String(message.tool_call_id))) {
      problems.push(`result ${String(message.tool_call_id)} has no call before it`);
    }
  }
  return problems;
}

/** Estimates one message as the proxy does: its text (plus tool calls) and the per-message overhead. */
export function messageTokens(message: ChatMessage): number {
  let text = typeof message.content === 'string' ? message.content : '';
  if (Array.isArray(message.tool_calls)) text += JSON.stringify(message.tool_calls);
  return countTokens(text) + MESSAGE_OVERHEAD_TOKENS;
}

/** Estimates a whole message list, without any safety margin. */
export function messagesTokens(messages: ChatMessage[]): number {
  return messages.reduce((total, message) => total + messageTokens(message), 0);
}

/** Counts the turns in a message list: a turn begins at each user message, and at the first message. */
export function countTurns(messages: ChatMessage[]): number {
  return messages.filter((message, index) => index === 0 || message.role === 'user').length;
}

/** Returns the share of letters in `text` that are Han characters. */
export function hanShare(text: string): number {
  const letters = text.match(/\p{L}/gu)?.length ?? 0;
  const han = text.match(/\p{Script=Han}/gu)?.length ?? 0;
  return letters === 0 ? 0 : han / letters;
}

/**
 * Returns true for a recap request: its first message is a system
 * instruction asking for a recap, not the pack. Main requests start with the pack.
 */
export function isRecapRequest(request: RecordedRequest, packText: string): boolean {
  const first = request.json?.messages?.[0] as ChatMessage | undefined;
  if (first?.role !== 'system' || typeof first.content !== 'string') return false;
  if (first.content === packText) return false;
  return /提要|recap/i.test(first.content);
}

/** Writes an OpenAI chat.completion response with the given text and usage. */
export function answerJson(
  response: ServerResponse,
  content: string,
  usage: { prompt_tokens: number; completion_tokens: number } = { prompt_tokens: 100, completion_tokens: 20 },
  status = 200,
): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(
    JSON.stringify({
      id: 'chatcmpl-conversation-test',
      object: 'chat.completion',
      created: 1764820000,
      model: 'upstream-model',
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
    }),
  );
}

/** Reads one sample's value from Prometheus text, or 0 when the series does not exist yet. */
export function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const present = line.slice(name.length + 1, line.indexOf('}')).split(',');
    if (present.length === wanted.length && wanted.every((pair) => present.includes(pair))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return 0;
}

/** Fetches the proxy's Prometheus text. */
export async function scrapeMetrics(proxyUrl: string): Promise<string> {
  const response = await fetch(`${proxyUrl}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  return response.text();
}

/** Posts a chat request to the proxy and returns the status, the headers and the parsed body. */
export async function postChat(
  baseUrl: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: any }> {
  const response = await fetch(`${baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, headers: response.headers, json };
}
