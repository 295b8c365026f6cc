/**
 * Two proxy instances share one real redis-server, as two replicas behind a
 * load balancer do: one rate limit per key, the reasoning stash of tool-call
 * turns and the recap cache. Redis is then stopped and started again on the
 * same port to check the fallback to local state and the recovery.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startUpstream, type RecordedRequest, type TestUpstream } from '../helpers/upstream.js';
import { startRedisServer, type RedisServer } from './redis-server.js';
import {
  deepSeekLikeUpstream,
  logCount,
  metricValue,
  postChat,
  reasoningFor,
  REDIS_BACK_MESSAGE,
  REDIS_DOWN_MESSAGE,
  toolCallIdOfStream,
  toolFollowUp,
  waitFor,
  WEATHER_QUESTION,
  type ChatMessage,
} from './support.js';

const RATE_LIMIT = 3;
const RECAP_TEXT = 'Ada and the stranger met at the lighthouse; he is looking for the keeper who left in spring.';
const RECAP_INSTRUCTIONS = 'Below is the earlier part of a role-play conversation.';

let redisServer: RedisServer;
let inspector: Redis;
let agentUpstream: TestUpstream;
let chronicleUpstream: TestUpstream;
let proxies: TestProxy[] = [];

function isRecapRequest(request: RecordedRequest): boolean {
  const first = request.json?.messages?.[0];
  return first?.role === 'system' && typeof first.content === 'string' && first.content.startsWith(RECAP_INSTRUCTIONS);
}

function config(): Record<string, unknown> {
  return {
    upstreams: {
      default: { baseUrl: agentUpstream.baseUrl, retry: { maxRetries: 0 } },
      chronicle: { baseUrl: chronicleUpstream.baseUrl, retry: { maxRetries: 0 } },
    },
    aliases: {
      agent: { pack: 'keeper', model: 'deepseek-reasoner', thinking: 'strip' },
      chronicle: {
        pack: 'keeper',
        upstream: 'chronicle',
        model: 'm',
        context: { budgetTokens: 300, strategy: 'summarize' },
      },
    },
    rateLimit: { max: RATE_LIMIT, windowMs: 60_000 },
  };
}

const PACKS = { 'keeper.yaml': { name: 'keeper', preamble: 'You are Ada, the lighthouse keeper. Answer briefly.' } };

async function startPair(): Promise<[TestProxy, TestProxy]> {
  const pair: TestProxy[] = [];
  for (let index = 0; index < 2; index++) {
    const proxy = await startProxy({ config: config(), packs: PACKS, redisUrl: redisServer.url });
    proxies.push(proxy);
    pair.push(proxy);
  }
  await waitFor('both instances to connect to Redis', () => pair.every((proxy) => proxy.redis?.isReady === true));
  return pair as [TestProxy, TestProxy];
}

/** Builds a conversation long enough that the chronicle alias (300-token budget) drops its oldest turns. */
function longConversation(): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (let turn = 0; turn < 8; turn++) {
    messages.push({ role: 'user', content: `Turn ${turn}: the stranger asks about the keeper who left in spring, the broken lamp and the ship that never came back to the harbour.` });
    messages.push({ role: 'assistant', content: `Turn ${turn}: Ada says the keeper left a letter, the lamp was mended twice and the ship was last seen beyond the northern rocks.` });
  }
  messages.push({ role: 'user', content: 'So where should I look first?' });
  return messages;
}

/** Sends a tool-call turn through `first` and returns the tool call id the client got. */
async function toolCallTurn(first: TestProxy, stream = false): Promise<string> {
  if (!stream) {
    const answer = await postChat(first, { model: 'agent', messages: [WEATHER_QUESTION] });
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    const message = answer.json.choices[0].message;
    expect(message.reasoning_content, 'strip mode hides the reasoning from the client').toBeUndefined();
    return message.tool_calls[0].id as string;
  }
  const response = await fetch(`${first.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer sk-${randomUUID()}` },
    body: JSON.stringify({ model: 'agent', messages: [WEATHER_QUESTION], stream: true }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  expect(text, 'strip mode hides the reasoning from the client').not.toContain('reasoning_content');
  const id = toolCallIdOfStream(text);
  expect(id, text).toBeDefined();
  return id!;
}

/** Returns the last request the upstream got for the follow-up of tool call `id`. */
function forwardedFollowUp(id: string): RecordedRequest | undefined {
  const matching = agentUpstream.requests.filter((request) =>
    (request.json?.messages as ChatMessage[] | undefined)?.some((message) => message.role === 'tool' && message.tool_call_id === id),
  );
  return matching.at(-1);
}

function assistantOf(request: RecordedRequest | undefined): ChatMessage | undefined {
  return (request?.json?.messages as ChatMessage[] | undefined)?.find((message) => message.role === 'assistant');
}

beforeAll(async () => {
  redisServer = await startRedisServer();
  inspector = new Redis(redisServer.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 200 });
  inspector.on('error', () => undefined);
  await inspector.connect();
  agentUpstream = await startUpstream(deepSeekLikeUpstream());
  chronicleUpstream = await startUpstream((request, response) => {
    const content = isRecapRequest(request) ? RECAP_TEXT : 'Start at the northern rocks.';
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] }));
  });
});

afterAll(async () => {
  for (const proxy of proxies) await proxy.close();
  proxies = [];
  inspector?.disconnect();
  await agentUpstream?.close();
  await chronicleUpstream?.close();
  await redisServer?.stop();
});

describe('two instances sharing one Redis', () => {
  it('share one rate limit per key', async () => {
    const [a, b] = await startPair();
    const key = `sk-${randomUUID()}`;
    const order = [a, b, a, b];
    const results = [];
    for (const proxy of order) results.push(await postChat(proxy, { model: 'agent', messages: [{ role: 'user', content: 'hello' }] }, key));

    expect(results.map((result) => result.status)).toEqual([200, 200, 200, 429]);
    expect(results.slice(0, 3).map((result) => result.headers.get('x-ratelimit-remaining'))).toEqual(['2', '1', '0']);
    expect(results[3]?.json.error.code).toBe('rate_limit_exceeded');
    expect(await metricValue(a, 'microtune_redis_fallbacks_total', { operation: 'rate_limit' })).toBe(0);
    expect(await metricValue(b, 'microtune_redis_fallbacks_total', { operation: 'rate_limit' })).toBe(0);
  });

  it('share stashed reasoning (JSON)', async () => {
    const [a, b] = await startPair();
    const id = await toolCallTurn(a);
    expect(await inspector.get(`microtune:stash:${id}`)).toBe(reasoningFor(id));

    const followUp = await postChat(b, { model: 'agent', messages: toolFollowUp(id) });
    expect(followUp.status, JSON.stringify(followUp.json)).toBe(200);
    expect(assistantOf(forwardedFollowUp(id))?.reasoning_content).toBe(reasoningFor(id));
    expect(followUp.json.choices[0].message.content).toBe('It is sunny, 22 °C.');
  });

  it('share stashed reasoning (stream)', async () => {
    const [a, b] = await startPair();
    const id = await toolCallTurn(a, true);
    // The stream path stores the reasoning without holding back the end of the stream.
    await waitFor('the stash entry in Redis', async () => (await inspector.get(`microtune:stash:${id}`)) !== null, { timeoutMs: 2_000 });

    const followUp = await postChat(b, { model: 'agent', messages: toolFollowUp(id) });
    expect(followUp.status, JSON.stringify(followUp.json)).toBe(200);
    expect(assistantOf(forwardedFollowUp(id))?.reasoning_content).toBe(reasoningFor(id));
  });

  it('reuse the other instance\'s recap', async () => {
    const [a, b] = await startPair();
    const before = chronicleUpstream.requests.length;
    const messages = longConversation();

    const throughA = await postChat(a, { model: 'chronicle', messages });
    expect(throughA.status, JSON.stringify(throughA.json)).toBe(200);
    const droppedA = Number(throughA.headers.get('x-microtune-dropped-turns'));
    expect(droppedA).toBeGreaterThan(0);

    const throughB = await postChat(b, { model: 'chronicle', messages });
    expect(throughB.status, JSON.stringify(throughB.json)).toBe(200);
    expect(Number(throughB.headers.get('x-microtune-dropped-turns'))).toBe(droppedA);

    const received = chronicleUpstream.requests.slice(before);
    expect(received.filter(isRecapRequest), 'recap requests the upstream got').toHaveLength(1);
    const chats = received.filter((request) => !isRecapRequest(request));
    expect(chats).toHaveLength(2);
    for (const chat of chats) {
      const recapMessage = (chat.json.messages as ChatMessage[]).find(
        (message) => message.role === 'system' && String(message.content).startsWith('Recap of the earlier conversation'),
      );
      expect(recapMessage?.content).toBe(`Recap of the earlier conversation (${droppedA} turns omitted):\n${RECAP_TEXT}`);
    }
  });

  it('warn again after a frozen Redis', { timeout: 40_000 }, async () => {
    const [a] = await startPair();
    const fallbacksBefore = await metricValue(a, 'microtune_redis_fallbacks_total', { operation: 'rate_limit' });
    redisServer.freeze();
    let elapsedMs: number;
    try {
      const started = Date.now();
      const answer = await postChat(a, { model: 'agent', messages: [{ role: 'user', content: 'hello' }] });
      elapsedMs = Date.now() - started;
      expect(answer.status).toBe(200);
    } finally {
      redisServer.thaw();
    }
    // SharedRedis sets a 1 s command timeout. The rate limit and the stash of the tool-call
    // answer each wait that long before they use local state.
    expect(elapsedMs).toBeGreaterThanOrEqual(1_900);
    expect(elapsedMs).toBeLessThan(5_000);
    expect(await metricValue(a, 'microtune_redis_fallbacks_total', { operation: 'rate_limit' })).toBe(fallbacksBefore + 1);
    expect(logCount(a, REDIS_DOWN_MESSAGE)).toBe(1);

    // Redis replies again; the connection never dropped, so the next outage is a new one and must warn again.
    const after = await postChat(a, { model: 'agent', messages: [{ role: 'user', content: 'hello' }] });
    expect(after.status).toBe(200);
    expect(await metricValue(a, 'microtune_redis_fallbacks_total', { operation: 'rate_limit' })).toBe(fallbacksBefore + 1);

    await redisServer.stop();
    try {
      await waitFor('the instance to see Redis go away', () => a.redis?.isReady === false);
      const during = await postChat(a, { model: 'agent', messages: [{ role: 'user', content: 'hello' }] });
      expect(during.status).toBe(200);
      expect(logCount(a, REDIS_DOWN_MESSAGE), 'warnings after two separate outages').toBe(2);
    } finally {
      if (!redisServer.running) await redisServer.start();
      await waitFor('the instance to reconnect to Redis', () => a.redis?.isReady === true, { timeoutMs: 15_000 });
    }
  });

  it('fall back and recover from an outage', { timeout: 60_000 }, async () => {
    const [a, b] = await startPair();
    const metric = (proxy: TestProxy, operation: string) => metricValue(proxy, 'microtune_redis_fallbacks_total', { operation });

    // A tool call stashed before the outage, to be completed during it.
    const stashedBefore = await toolCallTurn(a);

    await redisServer.stop();
    await waitFor('both instances to see Redis go away', () => a.redis?.isReady === false && b.redis?.isReady === false);

    // The rate limit counts locally: each instance allows RATE_LIMIT requests per key on its own.
    const key = `sk-${randomUUID()}`;
    const statusesA = [];
    for (let request = 0; request <= RATE_LIMIT; request++) {
      statusesA.push((await postChat(a, { model: 'agent', messages: [{ role: 'user', content: 'hello' }] }, key)).status);
    }
    expect(statusesA).toEqual([200, 200, 200, 429]);
    const statusesB = [];
    for (let request = 0; request < RATE_LIMIT; request++) {
      statusesB.push((await postChat(b, { model: 'agent', messages: [{ role: 'user', content: 'hello' }] }, key)).status);
    }
    expect(statusesB).toEqual([200, 200, 200]);

    // Each instance keeps its own stash entries: A completes both its turns, B cannot complete A's.
    const followBeforeOnA = await postChat(a, { model: 'agent', messages: toolFollowUp(stashedBefore) });
    expect(followBeforeOnA.status, JSON.stringify(followBeforeOnA.json)).toBe(200);
    const stashedDuring = await toolCallTurn(a);
    const followDuringOnA = await postChat(a, { model: 'agent', messages: toolFollowUp(stashedDuring) });
    expect(followDuringOnA.status, JSON.stringify(followDuringOnA.json)).toBe(200);
    expect(assistantOf(forwardedFollowUp(stashedDuring))?.reasoning_content).toBe(reasoningFor(stashedDuring));
    const followDuringOnB = await postChat(b, { model: 'agent', messages: toolFollowUp(stashedDuring) });
    expect(followDuringOnB.status, 'the DeepSeek-like upstream rejects a turn without its reasoning').toBe(400);
    expect(assistantOf(forwardedFollowUp(stashedDuring))?.reasoning_content).toBeUndefined();

    // Recaps are made per instance while Redis is down.
    const recapsBefore = chronicleUpstream.requests.filter(isRecapRequest).length;
    const conversation = [...longConversation(), { role: 'assistant', content: 'Start at the rocks.' }, { role: 'user', content: `Outage ${randomUUID()}` }];
    expect((await postChat(a, { model: 'chronicle', messages: conversation })).status).toBe(200);
    expect((await postChat(b, { model: 'chronicle', messages: conversation })).status).toBe(200);
    expect(chronicleUpstream.requests.filter(isRecapRequest).length - recapsBefore).toBe(2);

    for (const [name, proxy] of [['A', a], ['B', b]] as const) {
      expect(logCount(proxy, REDIS_DOWN_MESSAGE), `warnings logged by ${name}`).toBe(1);
      expect(await metric(proxy, 'rate_limit'), `rate_limit fallbacks of ${name}`).toBeGreaterThanOrEqual(RATE_LIMIT);
      expect(await metric(proxy, 'stash_get'), `stash_get fallbacks of ${name}`).toBeGreaterThan(0);
      expect(await metric(proxy, 'recap_get'), `recap_get fallbacks of ${name}`).toBeGreaterThan(0);
    }
    expect(await metric(a, 'stash_set')).toBeGreaterThan(0);
    expect(await metric(a, 'recap_set')).toBeGreaterThan(0);

    // Redis comes back on the same port, empty; ioredis reconnects within its 2 s back-off.
    await redisServer.start();
    const reconnectMs = await waitFor(
      'both instances to reconnect to Redis',
      () => a.redis?.isReady === true && b.redis?.isReady === true,
      { timeoutMs: 15_000 },
    );
    expect(reconnectMs).toBeLessThan(15_000);
    expect(logCount(a, REDIS_BACK_MESSAGE)).toBe(1);
    expect(logCount(b, REDIS_BACK_MESSAGE)).toBe(1);

    const stashedAfter = await toolCallTurn(a);
    const followAfterOnB = await postChat(b, { model: 'agent', messages: toolFollowUp(stashedAfter) });
    expect(followAfterOnB.status, JSON.stringify(followAfterOnB.json)).toBe(200);
    expect(assistantOf(forwardedFollowUp(stashedAfter))?.reasoning_content).toBe(reasoningFor(stashedAfter));

    const sharedKey = `sk-${randomUUID()}`;
    const shared = [];
    for (const proxy of [a, b, a, b]) {
      shared.push((await postChat(proxy, { model: 'agent', messages: [{ role: 'user', content: 'hello' }] }, sharedKey)).status);
    }
    expect(shared).toEqual([200, 200, 200, 429]);
    expect(logCount(a, REDIS_DOWN_MESSAGE)).toBe(1);
    expect(logCount(b, REDIS_DOWN_MESSAGE)).toBe(1);
  });
});
