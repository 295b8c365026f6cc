import { afterEach, describe, expect, it } from 'vitest';
import { chunkedAnswer, jsonAnswer, sseChunk, startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { renderPack } from '../../src/packs/render.js';

const PACK = { name: 'bard', preamble: '你是吟游诗人。始终用中文回答。' };
const PACK_TEXT = renderPack({ ...PACK, examples: [] });

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
});

async function setUp(handler: UpstreamHandler, alias: Record<string, unknown>) {
  upstream = await startUpstream(handler);
  proxy = await startProxy({
    config: { upstreams: { default: { baseUrl: upstream.baseUrl } }, aliases: { bard: { pack: 'bard', model: 'm', ...alias } } },
    packs: { 'bard.yaml': PACK },
  });
  return { upstream, proxy };
}

const ok = jsonAnswer({
  id: 'x',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: '好' }, finish_reason: 'stop' }],
});

const conversation = [
  { role: 'system' as const, content: '客户端设定：语气轻快。' },
  { role: 'user' as const, content: '唱一段。' },
  { role: 'system' as const, content: [{ type: 'text', text: '再补一句设定。' }] as never },
];

describe('client system messages', () => {
  it('keeps them after the pack by default', async () => {
    const { upstream, proxy } = await setUp(ok, {});
    await proxy.client().chat.completions.create({ model: 'bard', messages: conversation });
    expect(upstream.requests[0]?.json.messages.map((message: { role: string }) => message.role)).toEqual([
      'system',
      'system',
      'user',
      'system',
    ]);
    expect(upstream.requests[0]?.json.messages[0].content).toBe(PACK_TEXT);
  });

  it('merges everything into one system message', async () => {
    const { upstream, proxy } = await setUp(ok, { systemMessages: 'merge' });
    await proxy.client().chat.completions.create({ model: 'bard', messages: conversation });
    const messages = upstream.requests[0]?.json.messages;
    expect(messages).toEqual([
      { role: 'system', content: `${PACK_TEXT}\n\n客户端设定：语气轻快。\n\n再补一句设定。` },
      { role: 'user', content: '唱一段。' },
    ]);
  });

  it('rejects them when the alias says so', async () => {
    const { upstream, proxy } = await setUp(ok, { systemMessages: 'reject' });
    const response = await fetch(`${proxy.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'bard', messages: conversation }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; param: string } };
    expect(body.error.code).toBe('system_message_rejected');
    expect(body.error.param).toBe('messages[0].role');
    expect(upstream.requests).toHaveLength(0);
  });
});

const TOOL_CALL = { id: 'call_weather_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"杭州"}' } };
const REASONING = '用户问天气，我需要调用天气工具。';

function followUp(toolCall = TOOL_CALL) {
  return [
    { role: 'user' as const, content: '杭州天气如何？' },
    { role: 'assistant' as const, content: null, tool_calls: [toolCall] },
    { role: 'tool' as const, tool_call_id: toolCall.id, content: '晴，22 度' },
  ];
}

describe('reasoning kept for tool-call turns', () => {
  it('re-attaches stripped reasoning after a JSON answer', async () => {
    let calls = 0;
    const { upstream, proxy } = await setUp((request, response) => {
      calls += 1;
      const message =
        calls === 1
          ? { role: 'assistant', content: null, reasoning_content: REASONING, tool_calls: [TOOL_CALL] }
          : { role: 'assistant', content: '杭州今天晴。' };
      return jsonAnswer({ id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message, finish_reason: calls === 1 ? 'tool_calls' : 'stop' }] })(request, response);
    }, { thinking: 'strip' });

    const first = await proxy.client().chat.completions.create({ model: 'bard', messages: [{ role: 'user', content: '杭州天气如何？' }] });
    expect((first.choices[0]?.message as unknown as Record<string, unknown>).reasoning_content).toBeUndefined();
    expect(first.choices[0]?.message.tool_calls?.[0]?.id).toBe('call_weather_1');

    await proxy.client().chat.completions.create({ model: 'bard', messages: followUp() as never });
    const assistant = upstream.requests[1]?.json.messages.find((message: { role: string }) => message.role === 'assistant');
    expect(assistant.reasoning_content).toBe(REASONING);
  });

  it('re-attaches stripped reasoning after a stream', async () => {
    let calls = 0;
    const { upstream, proxy } = await setUp((request, response) => {
      calls += 1;
      if (calls > 1) return ok(request, response);
      return chunkedAnswer([
        sseChunk({ role: 'assistant', content: null, reasoning_content: '用户问天气，' }),
        sseChunk({ reasoning_content: '我需要调用天气工具。' }),
        sseChunk({ tool_calls: [{ index: 0, ...TOOL_CALL, function: { name: 'get_weather', arguments: '' } }] }),
        sseChunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":"杭州"}' } }] }),
        sseChunk({}, { finishReason: 'tool_calls' }),
        'data: [DONE]\n\n',
      ])(request, response);
    }, { thinking: 'strip' });

    const stream = await proxy.client().chat.completions.create({ model: 'bard', messages: [{ role: 'user', content: '杭州天气如何？' }], stream: true });
    let reasoningSeen = '';
    for await (const chunk of stream) {
      reasoningSeen += String((chunk.choices[0]?.delta as Record<string, unknown> | undefined)?.reasoning_content ?? '');
    }
    expect(reasoningSeen).toBe('');

    await proxy.client().chat.completions.create({ model: 'bard', messages: followUp() as never });
    const assistant = upstream.requests[1]?.json.messages.find((message: { role: string }) => message.role === 'assistant');
    expect(assistant.reasoning_content).toBe(REASONING);
  });

  it('leaves messages alone when nothing was stashed', async () => {
    const { upstream, proxy } = await setUp(ok, { thinking: 'strip' });
    await proxy.client().chat.completions.create({ model: 'bard', messages: followUp({ ...TOOL_CALL, id: 'call_unknown' }) as never });
    const assistant = upstream.requests[0]?.json.messages.find((message: { role: string }) => message.role === 'assistant');
    expect(assistant.reasoning_content).toBeUndefined();
  });

  it('does not overwrite reasoning the client sent back', async () => {
    let calls = 0;
    const { upstream, proxy } = await setUp((request, response) => {
      calls += 1;
      const message =
        calls === 1
          ? { role: 'assistant', content: null, reasoning_content: REASONING, tool_calls: [TOOL_CALL] }
          : { role: 'assistant', content: '好' };
      return jsonAnswer({ id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message, finish_reason: 'stop' }] })(request, response);
    }, { thinking: 'separate' });
    await proxy.client().chat.completions.create({ model: 'bard', messages: [{ role: 'user', content: '杭州天气如何？' }] });
    const messages = followUp();
    (messages[1] as Record<string, unknown>).reasoning_content = '客户端保存的思考';
    await proxy.client().chat.completions.create({ model: 'bard', messages: messages as never });
    const assistant = upstream.requests[1]?.json.messages.find((message: { role: string }) => message.role === 'assistant');
    expect(assistant.reasoning_content).toBe('客户端保存的思考');
  });
});
