import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { chunkedAnswer, sseChunk, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { chooseVariant, conversationKey } from '../../src/conversation/choose-variant.js';
import { answerJson, postChat, sample, scrapeMetrics, type ChatMessage } from './support.js';

const WARM = { name: 'warm', preamble: '你是客栈掌柜林素，热情健谈，总爱给客人添一碗热汤。' };
const COLD = { name: 'cold', preamble: '你是客栈掌柜林素，话少而冷淡，只回答被问到的事。' };
const VARIANTS = [
  { pack: 'warm', weight: 3 },
  { pack: 'cold', weight: 1 },
];
/** Usage the scripted upstream reports in every response. */
const USAGE = { prompt_tokens: 100, completion_tokens: 20 };
/** A user message containing this marker gets a 400 from the scripted upstream. */
const BAD_REQUEST_MARKER = '【让上游报错】';

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

async function setUp() {
  upstream = await startUpstream((request, response) => {
    const last = request.json?.messages?.at(-1) as ChatMessage | undefined;
    if (String(last?.content).includes(BAD_REQUEST_MARKER)) {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: 'invalid request upstream', type: 'invalid_request_error' } }));
      return;
    }
    if (request.json?.stream === true) {
      chunkedAnswer([
        sseChunk({ role: 'assistant', content: '好。' }),
        sseChunk({}, { finishReason: 'stop', usage: { ...USAGE, total_tokens: 120 } }),
        'data: [DONE]\n\n',
      ])(request, response);
      return;
    }
    answerJson(response, '林素抬起头：“客官要住店？”', USAGE);
  });
  proxy = await startProxy({
    config: {
      upstreams: { default: { baseUrl: upstream.baseUrl, retry: { maxRetries: 0 } } },
      aliases: { innkeeper: { model: 'm', variants: VARIANTS } },
    },
    packs: { 'warm.yaml': WARM, 'cold.yaml': COLD },
  });
  const packTexts = new Map<string, string>();
  for (const name of ['warm', 'cold']) {
    const rendered = proxy.state.rendered(name);
    if (rendered === undefined || 'problem' in rendered) throw new Error(`the ${name} pack did not load`);
    packTexts.set(rendered.text, name);
  }
  return { upstream, proxy, packTexts };
}

/** Sends one chat request and returns the variant header and the pack the upstream got. */
async function send(
  setup: Awaited<ReturnType<typeof setUp>>,
  messages: ChatMessage[],
  headers: Record<string, string> = {},
  extra: Record<string, unknown> = {},
) {
  const before = setup.upstream.requests.length;
  const response = await postChat(setup.proxy.baseUrl, { model: 'innkeeper', messages, ...extra }, headers);
  const forwarded = setup.upstream.requests.slice(before);
  expect(forwarded).toHaveLength(1);
  const packText = String(forwarded[0]!.json.messages[0].content);
  return {
    status: response.status,
    variant: response.headers.get('x-microtune-variant'),
    forwardedPack: setup.packTexts.get(packText),
    forwardedHeaders: forwarded[0]!.headers,
  };
}

function chat(firstUser: string, extraTurns: number): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: 'user', content: firstUser }];
  for (let index = 0; index < extraTurns; index++) {
    messages.push({ role: 'assistant', content: `第${index + 1}次回答：后院还有空房。` });
    messages.push({ role: 'user', content: `第${index + 2}个问题：晚饭有什么？` });
  }
  return messages;
}

function shares(picks: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const pick of picks) counts.set(pick, (counts.get(pick) ?? 0) + 1);
  return new Map([...counts].map(([name, count]) => [name, count / picks.length]));
}

describe('chooseVariant', () => {
  it('returns the same variant for a key', () => {
    const first = chooseVariant(VARIANTS, 'id:对话-42');
    for (let attempt = 0; attempt < 50; attempt++) expect(chooseVariant(VARIANTS, 'id:对话-42')).toBe(first);
  });

  it('follows the weights over 2,000 keys', () => {
    // Binomial standard deviation for 2,000 draws is under 1.2 points; allow 3.5.
    const twoWay = shares(Array.from({ length: 2000 }, (_, index) => chooseVariant(VARIANTS, `id:conversation-${index}`).pack));
    expect(twoWay.get('warm')).toBeGreaterThan(0.75 - 0.035);
    expect(twoWay.get('warm')).toBeLessThan(0.75 + 0.035);

    const threeWay = [
      { pack: 'a', weight: 1 },
      { pack: 'b', weight: 1 },
      { pack: 'c', weight: 2 },
    ];
    const threeShares = shares(Array.from({ length: 2000 }, (_, index) => chooseVariant(threeWay, `first:你好，第${index}位客人`).pack));
    for (const [pack, expected] of [['a', 0.25], ['b', 0.25], ['c', 0.5]] as const) {
      expect(threeShares.get(pack), pack).toBeGreaterThan(expected - 0.035);
      expect(threeShares.get(pack), pack).toBeLessThan(expected + 0.035);
    }
  });
});

describe('conversationKey', () => {
  it('prefers the conversation header', () => {
    const key = conversationKey('chat-7', chat('掌柜的，住店。', 0));

    expect(conversationKey('chat-7', chat('别的开头', 3))).toBe(key);
    expect(conversationKey(['chat-7', 'chat-8'], chat('又一个开头', 1))).toBe(key);
    expect(conversationKey('chat-8', chat('掌柜的，住店。', 0))).not.toBe(key);
  });

  it('falls back to the first user message', () => {
    const key = conversationKey(undefined, chat('掌柜的，住店。', 0));

    expect(conversationKey(undefined, chat('掌柜的，住店。', 5))).toBe(key);
    expect(conversationKey('   ', chat('掌柜的，住店。', 2))).toBe(key);
    expect(conversationKey(undefined, [{ role: 'user', content: [{ type: 'text', text: '掌柜的，住店。' }] }])).toBe(key);
    expect(conversationKey(undefined, chat('掌柜的，打尖。', 0))).not.toBe(key);
  });
});

describe('pack experiments', () => {
  it('keeps a conversation on one variant', async () => {
    const setup = await setUp();
    const headerVariants = new Set<string | null>();
    const firstMessageVariants = new Set<string | null>();

    for (let turn = 0; turn < 12; turn++) {
      const byHeader = await send(setup, chat(`第${turn}种开场白`, turn), { 'x-microtune-conversation': 'chat-plum-rain' });
      expect(byHeader.status).toBe(200);
      expect(byHeader.forwardedPack, `turn ${turn}`).toBe(byHeader.variant);
      expect(byHeader.forwardedHeaders['x-microtune-conversation']).toBeUndefined();
      headerVariants.add(byHeader.variant);

      const byFirstMessage = await send(setup, chat('掌柜的，还有空房吗？', turn));
      expect(byFirstMessage.forwardedPack, `turn ${turn}`).toBe(byFirstMessage.variant);
      firstMessageVariants.add(byFirstMessage.variant);
    }

    expect(headerVariants.size).toBe(1);
    expect(firstMessageVariants.size).toBe(1);
    expect(['warm', 'cold']).toContain([...headerVariants][0]);
  });

  it('follows the weights across conversations', async () => {
    const setup = await setUp();
    const picks: string[] = [];

    for (let index = 0; index < 200; index++) {
      const result = await send(setup, chat('掌柜的，住店。', 0), { 'x-microtune-conversation': `sample-${index}` });
      expect(result.forwardedPack, `conversation ${index}`).toBe(result.variant);
      picks.push(String(result.variant));
    }

    // 200 draws at 75%: the standard deviation is about 3 points; allow 10.
    const warmShare = shares(picks).get('warm') ?? 0;
    expect(warmShare).toBeGreaterThan(0.65);
    expect(warmShare).toBeLessThan(0.85);
  });

  it('counts requests and tokens per variant', async () => {
    const setup = await setUp();
    const jsonCounts = new Map<string, number>([
      ['warm', 0],
      ['cold', 0],
    ]);
    for (let index = 0; index < 24; index++) {
      const result = await send(setup, chat('掌柜的，住店。', 0), { 'x-microtune-conversation': `metrics-${index}` });
      expect(result.status).toBe(200);
      jsonCounts.set(String(result.variant), (jsonCounts.get(String(result.variant)) ?? 0) + 1);
    }
    expect(jsonCounts.get('warm')).toBeGreaterThan(0);
    expect(jsonCounts.get('cold')).toBeGreaterThan(0);

    const streamed = await send(setup, chat('掌柜的，住店。', 0), { 'x-microtune-conversation': 'metrics-stream' }, { stream: true });
    expect(streamed.status).toBe(200);
    expect(['warm', 'cold']).toContain(streamed.variant);
    const failed = await send(setup, chat(`掌柜的，${BAD_REQUEST_MARKER}`, 0), { 'x-microtune-conversation': 'metrics-fail' });
    expect(failed.status).toBe(400);
    expect(['warm', 'cold']).toContain(failed.variant);

    const metrics = await scrapeMetrics(setup.proxy.url);
    for (const variant of ['warm', 'cold']) {
      const succeeded = jsonCounts.get(variant)! + (streamed.variant === variant ? 1 : 0);
      expect(sample(metrics, 'microtune_variant_requests_total', { alias: 'innkeeper', variant, status: '200' }), variant).toBe(succeeded);
      expect(sample(metrics, 'microtune_variant_requests_total', { alias: 'innkeeper', variant, status: '400' }), variant).toBe(
        failed.variant === variant ? 1 : 0,
      );
      expect(sample(metrics, 'microtune_variant_tokens_total', { alias: 'innkeeper', variant, direction: 'in' }), variant).toBe(
        succeeded * USAGE.prompt_tokens,
      );
      expect(sample(metrics, 'microtune_variant_tokens_total', { alias: 'innkeeper', variant, direction: 'out' }), variant).toBe(
        succeeded * USAGE.completion_tokens,
      );
    }

    const completed = setup.proxy.logs.filter((line) => line.msg === 'chat request completed');
    expect(completed).toHaveLength(26);
    for (const line of completed) {
      expect(['warm', 'cold']).toContain(line.variant);
      expect(line.pack).toBe(line.variant);
    }
  });

  it('lists the alias once in /v1/models', async () => {
    const setup = await setUp();

    const response = await fetch(`${setup.proxy.baseUrl}/models`);

    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: { id: string }[] };
    expect(body.data.map((model) => model.id)).toEqual(['innkeeper']);
  });
});
