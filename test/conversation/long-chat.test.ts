import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { countTokens } from '../../src/packs/count-tokens.js';
import { answerJson, chineseTurns, countTurns, INNKEEPER_PACK, isRecapRequest, messagesTokens, postChat, requestAt, type ChatMessage } from './support.js';

const BUDGET = 32_000;
const TURNS = 200;

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

async function setUp(strategy: 'trim' | 'summarize') {
  let packText = '';
  upstream = await startUpstream((request, response) => {
    if (isRecapRequest(request, packText)) answerJson(response, '林素和外乡人相识已久，一起查过渡口的旧账，约好月圆之夜去城隍庙。');
    else answerJson(response, '林素点点头。');
  });
  proxy = await startProxy({
    config: {
      upstreams: { default: { baseUrl: upstream.baseUrl, retry: { maxRetries: 0 } } },
      aliases: { innkeeper: { pack: 'innkeeper', model: 'm', context: { budgetTokens: BUDGET, strategy } } },
    },
    packs: { 'innkeeper.yaml': INNKEEPER_PACK },
  });
  const rendered = proxy.state.rendered('innkeeper');
  if (rendered === undefined || 'problem' in rendered) throw new Error('the innkeeper pack did not load');
  packText = rendered.text;
  return { upstream, proxy, packText };
}

/** Builds a chat of 200 turns of about 530 tokens each, plus the new user message. */
function longChat(): ChatMessage[] {
  const turns = chineseTurns(TURNS + 2, { seed: 3, userSentences: 5, assistantSentences: 17 });
  return requestAt(turns, TURNS);
}

function textTokens(messages: ChatMessage[]): number {
  return messages.reduce((total, message) => total + countTokens(String(message.content)), 0);
}

async function timedPost(baseUrl: string, messages: ChatMessage[]) {
  const started = performance.now();
  const response = await postChat(baseUrl, { model: 'innkeeper', messages });
  return { response, milliseconds: performance.now() - started };
}

describe('a 100,000-token Chinese chat', () => {
  it('fits a 32,000-token budget with trim', async () => {
    const { upstream, proxy, packText } = await setUp('trim');
    const sent = longChat();
    expect(countTurns(sent)).toBe(TURNS + 1);
    expect(textTokens(sent)).toBeGreaterThanOrEqual(100_000);

    const cold = await timedPost(proxy.baseUrl, sent);
    const warm = await timedPost(proxy.baseUrl, sent);

    for (const { response } of [cold, warm]) {
      expect(response.status).toBe(200);
      expect(Number(response.headers.get('x-microtune-dropped-turns'))).toBeGreaterThan(0);
    }
    const forwarded = upstream.requests[0]!;
    expect(countTokens(forwarded.body)).toBeLessThan(BUDGET);
    expect(countTokens(packText) + messagesTokens(forwarded.json.messages.slice(1))).toBeLessThan(BUDGET);
    expect(forwarded.json.messages.at(-1)).toEqual(sent.at(-1));
    expect(upstream.requests[1]!.body).toBe(forwarded.body);
    console.info(
      `100K-token chat, trim: ${textTokens(sent)} text tokens in, ${countTokens(forwarded.body)} body tokens out, ` +
        `${cold.response.headers.get('x-microtune-dropped-turns')} turns dropped; ` +
        `first request ${cold.milliseconds.toFixed(0)} ms, repeated ${warm.milliseconds.toFixed(0)} ms`,
    );
  });

  it('fits a 32,000-token budget with summarize', async () => {
    const { upstream, proxy, packText } = await setUp('summarize');
    const sent = longChat();

    const cold = await timedPost(proxy.baseUrl, sent);
    const warm = await timedPost(proxy.baseUrl, sent);

    expect(cold.response.status).toBe(200);
    expect(warm.response.status).toBe(200);
    const recaps = upstream.requests.filter((request) => isRecapRequest(request, packText));
    const mains = upstream.requests.filter((request) => !isRecapRequest(request, packText));
    expect(recaps).toHaveLength(1);
    expect(mains).toHaveLength(2);
    expect(countTokens(mains[0]!.body)).toBeLessThan(BUDGET);
    expect(mains[1]!.body).toBe(mains[0]!.body);
    console.info(
      `100K-token chat, summarize: ${countTokens(mains[0]!.body)} body tokens out, ` +
        `recap request of ${countTokens(recaps[0]!.body)} tokens; ` +
        `first request ${cold.milliseconds.toFixed(0)} ms (with the recap), repeated ${warm.milliseconds.toFixed(0)} ms`,
    );
  });
});
