import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { chunkedAnswer, sleep, sseChunk, startUpstream, type RecordedRequest, type TestUpstream } from '../helpers/upstream.js';
import { countTokens } from '../../src/packs/count-tokens.js';
import {
  answerJson,
  chineseText,
  chineseTurns,
  countTurns,
  hanShare,
  INNKEEPER_PACK,
  isRecapRequest,
  messagesTokens,
  postChat,
  requestAt,
  sample,
  scrapeMetrics,
  seededRandom,
  type ChatMessage,
  type Turn,
} from './support.js';

const BUDGET = 1500;
const RECAP = '林素与外乡人在归燕客栈相识。外乡人在打听一枚生锈的钥匙的来历，林素答应雨停后陪他去渡口找船家陈伯。';

let upstreams: TestUpstream[] = [];
let proxy: TestProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  for (const upstream of upstreams) await upstream.close();
  upstreams = [];
  proxy = undefined;
});

interface Script {
  /** Text of every recap response, or a status to fail recap requests with. */
  recap?: string | { status: number };
  recapDelayMs?: number;
}

/** Starts an upstream that responds to recap requests by the script and to every other request with a short reply. */
async function scriptedUpstream(packText: () => string, script: Script = {}): Promise<TestUpstream> {
  const upstream = await startUpstream(async (request, response) => {
    if (!isRecapRequest(request, packText())) {
      if (request.json?.stream === true) {
        chunkedAnswer([sseChunk({ role: 'assistant', content: '林素点点头。' }), sseChunk({}, { finishReason: 'stop' }), 'data: [DONE]\n\n'])(request, response);
      } else {
        answerJson(response, '林素点点头，把灯芯拨亮了些。');
      }
      return;
    }
    if (script.recapDelayMs !== undefined) await sleep(script.recapDelayMs);
    const recap = script.recap ?? RECAP;
    if (typeof recap === 'string') answerJson(response, recap);
    else answerJson(response, 'summarizer is down', undefined, recap.status);
  });
  upstreams.push(upstream);
  return upstream;
}

interface SetUp {
  proxy: TestProxy;
  main: TestUpstream;
  packText: string;
}

async function setUp(
  context: Record<string, unknown>,
  options: { script?: Script; cheap?: Script; alias?: Record<string, unknown> } = {},
): Promise<SetUp & { cheap: TestUpstream | undefined }> {
  let packText = '';
  const main = await scriptedUpstream(() => packText, options.script);
  const cheap = options.cheap === undefined ? undefined : await scriptedUpstream(() => packText, options.cheap);
  const configuredUpstreams: Record<string, unknown> = { default: { baseUrl: main.baseUrl, retry: { maxRetries: 0 } } };
  if (cheap !== undefined) configuredUpstreams.cheap = { baseUrl: cheap.baseUrl, retry: { maxRetries: 0 } };
  proxy = await startProxy({
    config: {
      upstreams: configuredUpstreams,
      aliases: { innkeeper: { pack: 'innkeeper', model: 'm', context: { budgetTokens: BUDGET, strategy: 'summarize', ...context }, ...options.alias } },
    },
    packs: { 'innkeeper.yaml': INNKEEPER_PACK },
  });
  const rendered = proxy.state.rendered('innkeeper');
  if (rendered === undefined || 'problem' in rendered) throw new Error('the innkeeper pack did not load');
  packText = rendered.text;
  return { proxy, main, cheap, packText };
}

interface TurnResult {
  status: number;
  droppedTurns: number;
  sent: ChatMessage[];
  /** The main request the upstream got for this turn. */
  forwarded: RecordedRequest;
  /** Recap requests the upstream got during this turn. */
  recaps: RecordedRequest[];
}

/** Sends the request of `turn` and sorts what the upstream got during it. */
async function sendTurn(setup: SetUp, turns: Turn[], turn: number, summarizer: TestUpstream = setup.main): Promise<TurnResult> {
  const mainBefore = setup.main.requests.length;
  const summarizerBefore = summarizer.requests.length;
  const sent = requestAt(turns, turn);
  const response = await postChat(setup.proxy.baseUrl, { model: 'innkeeper', messages: sent });
  const mainRequests = setup.main.requests.slice(mainBefore).filter((request) => !isRecapRequest(request, setup.packText));
  const recaps = summarizer.requests.slice(summarizerBefore).filter((request) => isRecapRequest(request, setup.packText));
  expect(mainRequests, `turn ${turn}: main requests`).toHaveLength(1);
  return {
    status: response.status,
    droppedTurns: Number(response.headers.get('x-microtune-dropped-turns')),
    sent,
    forwarded: mainRequests[0]!,
    recaps,
  };
}

/** Sends turns from 0 until the first one that drops turns, and returns its index and result. */
async function sendUntilFirstCut(setup: SetUp, turns: Turn[], summarizer?: TestUpstream): Promise<{ turn: number; result: TurnResult }> {
  for (let turn = 0; turn < turns.length; turn++) {
    const result = await sendTurn(setup, turns, turn, summarizer);
    if (result.droppedTurns > 0) return { turn, result };
  }
  throw new Error(`no turn of ${turns.length} overflowed the budget of ${BUDGET} tokens`);
}

/** The raw body up to and including the recap message, which must not change while the span stays. */
function prefixThroughRecap(request: RecordedRequest): string {
  const recapJson = JSON.stringify(request.json.messages[1]);
  const end = request.body.indexOf(recapJson);
  if (end < 0) throw new Error('the raw body does not contain the recap message as serialised');
  return request.body.slice(0, end + recapJson.length);
}

describe('context budget with summarize', () => {
  it('requests one recap for a new dropped span', async () => {
    const setup = await setUp({});
    const turns = chineseTurns(40, { seed: 21 });

    const { result } = await sendUntilFirstCut(setup, turns);

    expect(result.status).toBe(200);
    expect(result.recaps).toHaveLength(1);
    const recapRequest = result.recaps[0]!.json;
    expect(recapRequest.model).toBe('m');
    expect(recapRequest.max_tokens).toBe(400);
    expect(recapRequest.stream).toBe(false);

    const messages = result.forwarded.json.messages as ChatMessage[];
    const kept = messages.slice(2);
    const dropped = result.sent.slice(0, result.sent.length - kept.length);
    expect(messages[0]).toEqual({ role: 'system', content: setup.packText });
    expect(messages[1]?.role).toBe('system');
    expect(messages[1]?.content).toContain(RECAP);
    expect(kept).toEqual(result.sent.slice(result.sent.length - kept.length));
    expect(countTurns(dropped)).toBe(result.droppedTurns);

    // The recap request carries exactly the dropped messages.
    const transcript = String(recapRequest.messages.at(-1).content);
    for (const message of dropped) expect(transcript).toContain(String(message.content));
    for (const message of kept) expect(transcript).not.toContain(String(message.content));
  });

  it('reuses the recap on the next turn', async () => {
    const setup = await setUp({});
    const turns = chineseTurns(40, { seed: 21 });
    const { turn, result: first } = await sendUntilFirstCut(setup, turns);

    const next = await sendTurn(setup, turns, turn + 1);

    expect(next.status).toBe(200);
    expect(next.droppedTurns, 'the next turn drops the same span').toBe(first.droppedTurns);
    expect(next.recaps).toHaveLength(0);
    expect(next.forwarded.json.messages[1]).toEqual(first.forwarded.json.messages[1]);
    expect(next.forwarded.body.startsWith(prefixThroughRecap(first.forwarded))).toBe(true);
  });

  it('reuses the recap while the span stays', async () => {
    const setup = await setUp({});
    const turns = chineseTurns(40, { seed: 21 });
    let previous: TurnResult | undefined;
    let reusedTurns = 0;
    const spans = new Set<number>();
    let recapRequests = 0;

    for (let turn = 0; turn < turns.length; turn++) {
      const result = await sendTurn(setup, turns, turn);
      expect(result.status, `turn ${turn}`).toBe(200);
      recapRequests += result.recaps.length;
      if (result.droppedTurns > 0) spans.add(result.droppedTurns);

      if (previous !== undefined && result.droppedTurns > 0 && result.droppedTurns === previous.droppedTurns) {
        reusedTurns++;
        expect(result.recaps, `turn ${turn}: recap requests`).toHaveLength(0);
        expect(result.forwarded.json.messages[0].content, `turn ${turn}: pack first`).toBe(setup.packText);
        expect(result.forwarded.json.messages[1], `turn ${turn}: recap after the pack`).toEqual(previous.forwarded.json.messages[1]);
        expect(result.forwarded.body.startsWith(prefixThroughRecap(previous.forwarded)), `turn ${turn}: byte-stable prefix`).toBe(true);
      }
      previous = result;
    }

    expect(spans.size).toBeGreaterThanOrEqual(2);
    expect(reusedTurns).toBeGreaterThanOrEqual(5);
    expect(recapRequests).toBe(spans.size);
    const metrics = await scrapeMetrics(setup.proxy.url);
    expect(sample(metrics, 'microtune_dropped_turns_total', { alias: 'innkeeper' })).toBeGreaterThan(0);
  });

  it('serves each recap for several turns', async () => {
    // Low water at half of 1,500 leaves 750 tokens of room before the next
    // overflow, four turns of this chat (about 165 tokens each with the margin).
    const setup = await setUp({ lowWaterRatio: 0.5 });
    const turns = chineseTurns(40, { seed: 21 });
    const spanStarts: number[] = [];
    let previousDropped = 0;

    for (let turn = 0; turn < turns.length; turn++) {
      const result = await sendTurn(setup, turns, turn);
      if (result.droppedTurns !== previousDropped) spanStarts.push(turn);
      expect(result.recaps, `turn ${turn}: one recap request per new span`).toHaveLength(result.droppedTurns !== previousDropped ? 1 : 0);
      previousDropped = result.droppedTurns;
    }

    expect(spanStarts.length).toBeGreaterThanOrEqual(3);
    for (let index = 1; index < spanStarts.length; index++) {
      expect(spanStarts[index]! - spanStarts[index - 1]!, `new spans at turns ${spanStarts.join(', ')}`).toBeGreaterThanOrEqual(3);
    }
  });

  it('reuses the recap for an identical request', async () => {
    const setup = await setUp({});
    const turns = chineseTurns(40, { seed: 21 });
    const { turn, result: first } = await sendUntilFirstCut(setup, turns);

    const again = await sendTurn(setup, turns, turn);

    expect(again.recaps).toHaveLength(0);
    expect(again.forwarded.body).toBe(first.forwarded.body);
  });

  it('writes Chinese instructions for a Chinese chat', async () => {
    const setup = await setUp({});
    const { result } = await sendUntilFirstCut(setup, chineseTurns(40, { seed: 21 }));

    const instructions = String(result.recaps[0]!.json.messages[0].content);
    expect(hanShare(instructions)).toBeGreaterThan(0.8);
    expect(hanShare(String(result.forwarded.json.messages[1].content))).toBeGreaterThan(0.8);
  });

  it('writes English instructions for an English chat', async () => {
    const setup = await setUp({}, { script: { recap: 'Lin Su met a traveller at the inn and promised to ask the ferryman about an old key.' } });
    const turns: Turn[] = [];
    for (let index = 0; index < 40; index++) {
      turns.push({
        user: { role: 'user', content: `Turn ${index + 1}: the traveller asks again about the rusty key, the ferry, and the woman in the green coat.` },
        replies: [{ role: 'assistant', content: `Turn ${index + 1}: Lin Su wipes the counter, says the ferry stops at dusk, and promises to ask old Chen tomorrow.` }],
      });
    }

    const { result } = await sendUntilFirstCut(setup, turns);

    const instructions = String(result.recaps[0]!.json.messages[0].content);
    expect(hanShare(instructions)).toBe(0);
    expect(instructions.toLowerCase()).toContain('recap');
  });

  it('sends recaps to the configured summarizer', async () => {
    const setup = await setUp({ summarizer: { upstream: 'cheap', model: 'small-model', maxTokens: 200 } }, { cheap: {} });

    const { result } = await sendUntilFirstCut(setup, chineseTurns(40, { seed: 21 }), setup.cheap);

    expect(result.recaps).toHaveLength(1);
    expect(result.recaps[0]!.json.model).toBe('small-model');
    expect(result.recaps[0]!.json.max_tokens).toBe(200);
    expect(setup.main.requests.filter((request) => isRecapRequest(request, setup.packText))).toHaveLength(0);
    expect(setup.cheap!.requests.filter((request) => !isRecapRequest(request, setup.packText))).toHaveLength(0);
    expect(result.forwarded.json.messages[1].content).toContain(RECAP);
  });

  it('falls back to trim when the recap fails', async () => {
    const setup = await setUp({ summarizer: { upstream: 'cheap' } }, { cheap: { recap: { status: 500 } } });

    const { result } = await sendUntilFirstCut(setup, chineseTurns(40, { seed: 21 }), setup.cheap);

    expect(result.status).toBe(200);
    expect(result.recaps.length).toBeGreaterThanOrEqual(1);
    const messages = result.forwarded.json.messages as ChatMessage[];
    expect(messages[0]).toEqual({ role: 'system', content: setup.packText });
    expect(messages.slice(1).filter((message) => message.role === 'system')).toEqual([]);
    const kept = messages.slice(1);
    expect(kept).toEqual(result.sent.slice(result.sent.length - kept.length));
    expect(countTurns(result.sent.slice(0, result.sent.length - kept.length))).toBe(result.droppedTurns);

    const warnings = setup.proxy.logs.filter((line) => line.level === 40 && /recap/i.test(String(line.msg)));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.droppedTurns).toBe(result.droppedTurns);
    expect(JSON.stringify(warnings[0]?.err)).toContain('500');
  });

  it('falls back to trim on an empty recap', async () => {
    const setup = await setUp({}, { script: { recap: '<think>先想想这段对话讲了什么。</think>' } });

    const { result } = await sendUntilFirstCut(setup, chineseTurns(40, { seed: 21 }));

    expect(result.status).toBe(200);
    expect(result.recaps).toHaveLength(1);
    const messages = result.forwarded.json.messages as ChatMessage[];
    expect(messages.slice(1).filter((message) => message.role === 'system')).toEqual([]);
    const warnings = setup.proxy.logs.filter((line) => line.level === 40 && /recap/i.test(String(line.msg)));
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0]?.err)).toContain('empty recap');
  });

  it('asks once for concurrent identical requests', async () => {
    const setup = await setUp({}, { script: { recapDelayMs: 300 } });
    const sent = requestAt(chineseTurns(40, { seed: 21 }), 30);

    const responses = await Promise.all(
      Array.from({ length: 5 }, () => postChat(setup.proxy.baseUrl, { model: 'innkeeper', messages: sent })),
    );

    for (const response of responses) expect(response.status).toBe(200);
    const dropped = new Set(responses.map((response) => response.headers.get('x-microtune-dropped-turns')));
    expect(dropped.size).toBe(1);
    expect(Number([...dropped][0])).toBeGreaterThan(0);
    const recaps = setup.main.requests.filter((request) => isRecapRequest(request, setup.packText));
    const mains = setup.main.requests.filter((request) => !isRecapRequest(request, setup.packText));
    expect(recaps).toHaveLength(1);
    expect(mains).toHaveLength(5);
    const recapMessages = new Set(mains.map((request) => JSON.stringify(request.json.messages[1])));
    expect(recapMessages.size).toBe(1);
    expect([...recapMessages][0]).toContain(RECAP);
  });

  it('summarizes before a streamed request', async () => {
    const setup = await setUp({});
    const sent = requestAt(chineseTurns(40, { seed: 21 }), 30);

    const response = await fetch(`${setup.proxy.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'innkeeper', messages: sent, stream: true }),
    });
    await response.text();

    expect(response.status).toBe(200);
    expect(Number(response.headers.get('x-microtune-dropped-turns'))).toBeGreaterThan(0);
    const recaps = setup.main.requests.filter((request) => isRecapRequest(request, setup.packText));
    const mains = setup.main.requests.filter((request) => !isRecapRequest(request, setup.packText));
    expect(recaps).toHaveLength(1);
    expect(recaps[0]!.json.stream).toBe(false);
    expect(mains).toHaveLength(1);
    expect(mains[0]!.json.stream).toBe(true);
    expect(mains[0]!.json.messages[1].content).toContain(RECAP);
  });

  it('keeps the shared recap when one waiting client leaves', async () => {
    const setup = await setUp({}, { script: { recapDelayMs: 400 } });
    const sent = requestAt(chineseTurns(40, { seed: 21 }), 30);
    const body = JSON.stringify({ model: 'innkeeper', messages: sent });
    const leaving = new AbortController();

    // The recap takes 400 ms: the second client joins the pending recap at
    // 100 ms, and the first client leaves at 200 ms, before it is written.
    const first = fetch(`${setup.proxy.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: leaving.signal,
    }).catch((error: unknown) => error);
    await sleep(100);
    const second = postChat(setup.proxy.baseUrl, { model: 'innkeeper', messages: sent });
    await sleep(100);
    leaving.abort();

    const response = await second;
    await first;
    expect(response.status).toBe(200);
    const mains = setup.main.requests.filter((request) => !isRecapRequest(request, setup.packText));
    expect(mains).toHaveLength(1);
    const recapForwarded = String(mains[0]!.json.messages[1].content).includes(RECAP);
    expect(recapForwarded, 'the staying client still gets the recap').toBe(true);
  });

  it('keeps its recap under a reject system policy', async () => {
    const setup = await setUp({}, { alias: { systemMessages: 'reject' } });
    const turns = chineseTurns(40, { seed: 21 });
    const sent = requestAt(turns, 30);

    const response = await postChat(setup.proxy.baseUrl, { model: 'innkeeper', messages: sent });

    // The client sent no system message; the recap is the proxy's own.
    expect(response.status, JSON.stringify(response.json)).toBe(200);
    const forwarded = setup.main.requests.filter((request) => !isRecapRequest(request, setup.packText));
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]!.json.messages[1].content).toContain(RECAP);
  });

  it('counts the recap in the budget', async () => {
    // No safety margin, so nothing hides a recap that the plan left out.
    const longRecap = chineseText(seededRandom(5), 13);
    expect(countTokens(longRecap)).toBeLessThanOrEqual(400);
    const setup = await setUp({ safetyMargin: 0 }, { script: { recap: longRecap } });
    const turns = chineseTurns(40, { seed: 21 });

    for (let turn = 0; turn < turns.length; turn++) {
      const result = await sendTurn(setup, turns, turn);
      expect(result.status, `turn ${turn}`).toBe(200);
      const messages = result.forwarded.json.messages as ChatMessage[];
      const tokens = countTokens(setup.packText) + messagesTokens(messages.slice(1));
      expect(tokens, `turn ${turn}: forwarded tokens with ${result.droppedTurns} turns summarised`).toBeLessThanOrEqual(BUDGET);
    }
  });
});
