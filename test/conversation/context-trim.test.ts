import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { chunkedAnswer, sseChunk, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { countTokens } from '../../src/packs/count-tokens.js';
import {
  answerJson,
  chineseTurns,
  countTurns,
  INNKEEPER_PACK,
  messagesTokens,
  postChat,
  requestAt,
  sample,
  scrapeMetrics,
  splitToolPairs,
  toolTurn,
  type ChatMessage,
  type Turn,
} from './support.js';

const BUDGET = 1500;
const CLIENT_SYSTEM: ChatMessage = { role: 'system', content: '客户端设定：故事发生在江南小镇青石镇，时值深秋。' };

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

async function setUp(context: Record<string, unknown> | undefined) {
  upstream = await startUpstream((request, response) => {
    if (request.json?.stream === true) {
      chunkedAnswer([
        sseChunk({ role: 'assistant', content: '好的。' }),
        sseChunk({}, { finishReason: 'stop', usage: { prompt_tokens: 100, completion_tokens: 3, total_tokens: 103 } }),
        'data: [DONE]\n\n',
      ])(request, response);
      return;
    }
    answerJson(response, '林素点点头，把灯芯拨亮了些。');
  });
  proxy = await startProxy({
    config: {
      upstreams: { default: { baseUrl: upstream.baseUrl, retry: { maxRetries: 0 } } },
      aliases: {
        innkeeper: { pack: 'innkeeper', model: 'm', ...(context === undefined ? {} : { context }) },
      },
    },
    packs: { 'innkeeper.yaml': INNKEEPER_PACK },
  });
  const rendered = proxy.state.rendered('innkeeper');
  if (rendered === undefined || 'problem' in rendered) throw new Error('the innkeeper pack did not load');
  return { upstream, proxy, packText: rendered.text };
}

/** Builds a Chinese chat of 30 turns with a tool-call turn every fourth turn. */
function mixedTurns(): Turn[] {
  const plain = chineseTurns(30, { seed: 11 });
  return plain.map((turn, index) => (index % 4 === 2 ? toolTurn(index) : turn));
}

describe('context budget with trim', () => {
  it('forwards the pack and the newest whole turns', async () => {
    const { upstream, proxy, packText } = await setUp({ budgetTokens: BUDGET, strategy: 'trim' });
    const turns = mixedTurns();
    const headers: number[] = [];
    let toolTurnDropped = false;

    for (let turn = 0; turn < turns.length; turn++) {
      const sent = requestAt(turns, turn, [CLIENT_SYSTEM]);
      const response = await postChat(proxy.baseUrl, { model: 'innkeeper', messages: sent });
      expect(response.status, `turn ${turn}`).toBe(200);

      const forwarded = upstream.requests.at(-1)!.json.messages as ChatMessage[];
      expect(forwarded[0], `turn ${turn}: pack first`).toEqual({ role: 'system', content: packText });
      expect(forwarded[1], `turn ${turn}: client system message pinned`).toEqual(CLIENT_SYSTEM);

      const kept = forwarded.slice(2);
      const omitted = sent.slice(1, sent.length - kept.length);
      expect(kept, `turn ${turn}: kept messages are the newest ones`).toEqual(sent.slice(sent.length - kept.length));
      expect(kept[0]?.role, `turn ${turn}: kept part starts a turn`).toBe('user');
      expect(splitToolPairs(kept), `turn ${turn}`).toEqual([]);

      const header = response.headers.get('x-microtune-dropped-turns');
      expect(header, `turn ${turn}: dropped-turns header`).toBe(String(countTurns(omitted)));
      headers.push(Number(header));
      if (omitted.some((message) => message.role === 'tool')) toolTurnDropped = true;

      const forwardedTokens = countTokens(packText) + messagesTokens(forwarded.slice(1));
      expect(forwardedTokens, `turn ${turn}: forwarded tokens`).toBeLessThanOrEqual(BUDGET);
    }

    expect(headers.at(-1)).toBeGreaterThan(0);
    expect(toolTurnDropped).toBe(true);

    const completed = proxy.logs.filter((line) => line.msg === 'chat request completed');
    expect(completed).toHaveLength(turns.length);
    expect(completed.map((line) => line.droppedTurns ?? 0)).toEqual(headers);

    const total = headers.reduce((sum, value) => sum + value, 0);
    const metrics = await scrapeMetrics(proxy.url);
    expect(sample(metrics, 'microtune_dropped_turns_total', { alias: 'innkeeper' })).toBe(total);
  });

  it('sends zero and forwards everything under the budget', async () => {
    const { upstream, proxy } = await setUp({ budgetTokens: BUDGET });
    const sent = requestAt(chineseTurns(3), 2);

    const response = await postChat(proxy.baseUrl, { model: 'innkeeper', messages: sent });

    expect(response.status).toBe(200);
    expect(response.headers.get('x-microtune-dropped-turns')).toBe('0');
    expect(upstream.requests[0]!.json.messages.slice(1)).toEqual(sent);
    const metrics = await scrapeMetrics(proxy.url);
    expect(sample(metrics, 'microtune_dropped_turns_total', { alias: 'innkeeper' })).toBe(0);
  });

  it('sends no header without a budget', async () => {
    const { upstream, proxy } = await setUp(undefined);
    const sent = requestAt(chineseTurns(40), 39);

    const response = await postChat(proxy.baseUrl, { model: 'innkeeper', messages: sent });

    expect(response.status).toBe(200);
    expect(response.headers.get('x-microtune-dropped-turns')).toBeNull();
    expect(upstream.requests[0]!.json.messages.slice(1)).toEqual(sent);
  });

  it('trims a streamed request too', async () => {
    const { upstream, proxy } = await setUp({ budgetTokens: BUDGET });
    const sent = requestAt(chineseTurns(30), 29);

    const response = await postChat(proxy.baseUrl, { model: 'innkeeper', messages: sent, stream: true });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const dropped = Number(response.headers.get('x-microtune-dropped-turns'));
    expect(dropped).toBeGreaterThan(0);
    const kept = upstream.requests[0]!.json.messages.slice(1) as ChatMessage[];
    expect(countTurns(sent.slice(0, sent.length - kept.length))).toBe(dropped);
    const completed = proxy.logs.find((line) => line.msg === 'chat request completed');
    expect(completed?.droppedTurns).toBe(dropped);
  });
});
