import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { describe, expect, it, vi } from 'vitest';

import { ChatStreamTransform } from '../../src/sse/chat-stream-transform.js';
import {
  UPSTREAM_MODEL,
  chunkJson,
  deltaJson,
  readClientStream,
  runTransform,
  sseText,
  usageJson,
  utf8,
} from './client-stream.js';

type Json = Record<string, unknown>;

/** Returns the data of every client event, with JSON data parsed. */
function clientEvents(text: string): { event: string | undefined; data: unknown }[] {
  const events: EventSourceMessage[] = [];
  createParser({ onEvent: (event) => events.push(event) }).feed(text);
  return events.map((event) => {
    try {
      return { event: event.event, data: JSON.parse(event.data) as unknown };
    } catch {
      return { event: event.event, data: event.data };
    }
  });
}

function deltasOf(text: string): Json[] {
  const deltas: Json[] = [];
  for (const { data } of clientEvents(text)) {
    const choices = (data as { choices?: { delta?: Json }[] }).choices ?? [];
    for (const choice of choices) {
      if (choice.delta !== undefined) {
        deltas.push(choice.delta);
      }
    }
  }
  return deltas;
}

function finishReasonsOf(text: string): unknown[] {
  const reasons: unknown[] = [];
  for (const { data } of clientEvents(text)) {
    const choices = (data as { choices?: { finish_reason?: unknown }[] }).choices ?? [];
    for (const choice of choices) {
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
        reasons.push(choice.finish_reason);
      }
    }
  }
  return reasons;
}

describe('ChatStreamTransform comments', () => {
  it('forwards comments as comments only', () => {
    const stream = ': keep-alive\n\n:data: not data\n\n' + sseText([deltaJson({ content: 'x' }, 'stop'), '[DONE]']);
    const view = readClientStream(runTransform([stream], { mode: 'strip' }));

    expect(view.comments).toEqual(['keep-alive', 'data: not data']);
    expect(view.dataEventCount).toBe(2);
    expect(view.nonJsonData).toEqual([]);
    expect(view.content).toEqual({ 0: 'x' });
  });
});

describe('ChatStreamTransform chunks without choices', () => {
  it('forwards a usage chunk with empty choices', () => {
    const transform = new ChatStreamTransform({ mode: 'separate', responseModel: 'alias' });
    transform.push(sseText([deltaJson({ content: 'x' }, 'stop')]));
    const output = transform.push(sseText([usageJson()]));

    const events = clientEvents(output);
    expect(events).toHaveLength(1);
    expect(events[0]?.data).toEqual({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model: 'alias',
      choices: [],
      usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
    });
    expect(transform.usage).toEqual({ prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 });
  });

  it('forwards an Azure prompt filter chunk', () => {
    const data = chunkJson([], { prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }], model: '' });
    const output = runTransform([sseText([data])], { mode: 'strip' });

    expect(clientEvents(output)[0]?.data).toEqual(JSON.parse(data));
  });

  it('forwards a choice without delta unchanged', () => {
    const data = chunkJson([{ index: 0, logprobs: null, finish_reason: null }]);
    const output = new ChatStreamTransform({ mode: 'strip' }).push(sseText([data]));

    expect(output).toBe(`data: ${data}\n\n`);
  });
});

describe('ChatStreamTransform choices', () => {
  it('filters two choices independently', () => {
    const stream = sseText([
      chunkJson([
        { index: 0, delta: { role: 'assistant', content: '<think>zero' }, finish_reason: null },
        { index: 1, delta: { role: 'assistant', content: 'one <think>literal</think>' }, finish_reason: null },
      ]),
      chunkJson([
        { index: 1, delta: { content: '!' }, finish_reason: 'stop' },
        { index: 0, delta: { content: '</think>answer' }, finish_reason: 'stop' },
      ]),
      '[DONE]',
    ]);
    const view = readClientStream(runTransform([stream], { mode: 'separate' }));

    expect(view.content).toEqual({ 0: 'answer', 1: 'one <think>literal</think>!' });
    expect(view.reasoningContent).toEqual({ 0: 'zero' });
    expect(view.finishReasons).toEqual({ 0: 'stop', 1: 'stop' });
    expect(view.roles).toEqual({ 0: 'assistant', 1: 'assistant' });
  });

  it('passes tool_calls through', () => {
    const toolCall = { index: 0, id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '' } };
    const argumentsPart = { index: 0, function: { arguments: '{"q":"天气"}' } };
    const stream = sseText([
      deltaJson({ role: 'assistant', content: null, tool_calls: [toolCall] }),
      deltaJson({ tool_calls: [argumentsPart] }),
      deltaJson({}, 'tool_calls'),
      '[DONE]',
    ]);
    const view = readClientStream(runTransform([stream], { mode: 'strip', responseModel: 'alias' }));

    expect(view.toolCalls).toEqual({ 0: [toolCall, argumentsPart] });
    expect(view.finishReasons).toEqual({ 0: 'tool_calls' });
    expect(view.content).toEqual({});
  });

  it('keeps null content of a role-only delta', () => {
    const output = runTransform([sseText([deltaJson({ role: 'assistant', content: null })])], { mode: 'separate' });
    const deltas = deltasOf(output);

    expect(deltas[0]).toEqual({ role: 'assistant', content: null });
    expect(output.includes('"content":"null"')).toBe(false);
  });

  it('sends the role when the filter holds all content', () => {
    const output = new ChatStreamTransform({ mode: 'strip' }).push(
      sseText([deltaJson({ role: 'assistant', content: '<think>plan' })]),
    );

    expect(deltasOf(output)).toEqual([{ role: 'assistant' }]);
  });

  it('drops chunks that the filter emptied', () => {
    const transform = new ChatStreamTransform({ mode: 'strip' });
    transform.push(sseText([deltaJson({ role: 'assistant', content: '' })]));
    const output = transform.push(sseText([deltaJson({ content: '<think>a' }), deltaJson({ content: 'b</think>' })]));

    expect(output).toBe('');
  });

  it('keeps an empty delta the upstream sent', () => {
    const data = deltaJson({});
    const output = new ChatStreamTransform({ mode: 'strip' }).push(sseText([data]));

    expect(output).toBe(`data: ${data}\n\n`);
  });

  it('keeps a held chunk that carries logprobs', () => {
    const logprobs = { content: [{ token: '<think>', logprob: -0.1 }] };
    const data = chunkJson([{ index: 0, delta: { content: '<think>' }, logprobs, finish_reason: null }]);
    const output = new ChatStreamTransform({ mode: 'strip' }).push(sseText([data]));
    const events = clientEvents(output);

    expect(events).toHaveLength(1);
    expect(events[0]?.data).toMatchObject({ choices: [{ index: 0, delta: {}, logprobs }] });
  });

  it('forwards unchanged chunks byte for byte', () => {
    const data = '{"id":"x","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}],"model":"m","extra":1.50}';
    const output = new ChatStreamTransform({ mode: 'keep' }).push(`data: ${data}\n\n`);

    expect(output).toBe(`data: ${data}\n\n`);
  });

  it('passes unknown fields through when rewriting', () => {
    const data = chunkJson([{ index: 0, delta: { content: 'a', custom: [1] }, finish_reason: null, extra: 'e' }], {
      system_fingerprint: 'fp',
      provider: 'p',
    });
    const output = new ChatStreamTransform({ mode: 'strip', responseModel: 'alias' }).push(sseText([data]));

    expect(clientEvents(output)[0]?.data).toEqual({ ...JSON.parse(data), model: 'alias' });
  });
});

describe('ChatStreamTransform model rewrite', () => {
  it('rewrites the model in every chunk', () => {
    const stream = sseText([
      deltaJson({ role: 'assistant', content: '' }),
      deltaJson({ content: 'hi' }),
      deltaJson({}, 'stop'),
      usageJson(),
      '[DONE]',
    ]);
    const view = readClientStream(runTransform([stream], { mode: 'keep', responseModel: 'my-alias' }));

    expect(view.models).toEqual(['my-alias', 'my-alias', 'my-alias', 'my-alias']);
  });

  it('leaves the model alone without responseModel', () => {
    const view = readClientStream(runTransform([sseText([deltaJson({ content: 'hi' }, 'stop')])], { mode: 'strip' }));

    expect(view.models).toEqual([UPSTREAM_MODEL]);
  });
});

describe('ChatStreamTransform reasoning fields', () => {
  const stream = sseText([
    deltaJson({ role: 'assistant', content: '', reasoning: 'why' }),
    deltaJson({ reasoning: ' not' }),
    deltaJson({ content: 'ok' }, 'stop'),
    '[DONE]',
  ]);

  it('keep leaves the reasoning field name', () => {
    const output = runTransform([stream], { mode: 'keep' });
    const view = readClientStream(output);

    expect(view.reasoning).toEqual({ 0: 'why not' });
    expect(view.reasoningContent).toEqual({});
    expect(deltasOf(output)[0]).toEqual({ role: 'assistant', content: '', reasoning: 'why' });
  });

  it('keep leaves reasoning_content as sent', () => {
    const data = deltaJson({ content: null, reasoning_content: 'r' });
    const output = new ChatStreamTransform({ mode: 'keep' }).push(sseText([data]));

    expect(output).toBe(`data: ${data}\n\n`);
  });

  it('separate renames reasoning to reasoning_content', () => {
    const output = runTransform([stream], { mode: 'separate' });
    const view = readClientStream(output);

    expect(view.reasoningContent).toEqual({ 0: 'why not' });
    expect(view.reasoning).toEqual({});
    expect(view.content).toEqual({ 0: 'ok' });
    expect(deltasOf(output)[0]).toEqual({ role: 'assistant', content: '', reasoning_content: 'why' });
  });

  it('separate sends text under both names once', () => {
    const output = runTransform([sseText([deltaJson({ reasoning_content: 'r', reasoning: 'r' }, 'stop')])], {
      mode: 'separate',
    });

    expect(deltasOf(output)).toEqual([{ reasoning_content: 'r' }]);
  });

  it('strip removes both reasoning fields', () => {
    const output = runTransform(
      [stream, sseText([deltaJson({ reasoning_content: 'x', reasoning: 'y', content: 'z' })])],
      { mode: 'strip' },
    );
    const view = readClientStream(output);

    expect(view.reasoning).toEqual({});
    expect(view.reasoningContent).toEqual({});
    expect(output.includes('reasoning')).toBe(false);
    expect(view.content).toEqual({ 0: 'ok' });
  });
});

describe('ChatStreamTransform empty-answer fallback', () => {
  it('sends the reasoning as content and reports the index', () => {
    const onFallback = vi.fn();
    const stream = sseText([
      deltaJson({ role: 'assistant', content: null, reasoning_content: 'Only ' }),
      deltaJson({ reasoning_content: 'thoughts' }),
      deltaJson({}, 'stop'),
      '[DONE]',
    ]);
    const output = runTransform([stream], { mode: 'strip', onFallback });
    const deltas = deltasOf(output);

    expect(readClientStream(output).content).toEqual({ 0: 'Only thoughts' });
    expect(deltas[deltas.length - 1]).toEqual({ content: 'Only thoughts' });
    expect(finishReasonsOf(output)).toEqual(['stop']);
    expect(onFallback).toHaveBeenCalledTimes(1);
    expect(onFallback).toHaveBeenCalledWith(0);
  });

  it('stays off when disabled', () => {
    const onFallback = vi.fn();
    const stream = sseText([deltaJson({ reasoning_content: 'thoughts' }), deltaJson({}, 'stop')]);
    const output = runTransform([stream], { mode: 'strip', emptyAnswerFallback: false, onFallback });

    expect(readClientStream(output).content).toEqual({});
    expect(onFallback).not.toHaveBeenCalled();
  });
});

describe('ChatStreamTransform upstream errors', () => {
  it('wraps an error event without an error key', () => {
    const transform = new ChatStreamTransform({ mode: 'strip' });
    const before = transform.push(sseText([deltaJson({ role: 'assistant', content: 'partial' })]));
    const output = transform.push('event: error\ndata: {"message":"overloaded","code":529}\n\n') + transform.end();

    expect(readClientStream(before).content).toEqual({ 0: 'partial' });
    expect(clientEvents(output)).toEqual([
      { event: undefined, data: { error: { message: 'overloaded', type: 'upstream_error', param: null, code: '529' } } },
    ]);
    expect(transform.sentError).toBe(true);
  });

  it('wraps a non-JSON error event', () => {
    const output = runTransform(['event: error\ndata: Internal Server Error\n\n'], { mode: 'keep' });

    expect(clientEvents(output)).toEqual([
      {
        event: undefined,
        data: { error: { message: 'Internal Server Error', type: 'upstream_error', param: null, code: null } },
      },
    ]);
  });

  it('forwards a data error object unchanged', () => {
    const data = '{"error":{"message":"context too long","type":"invalid_request_error","code":"context_length"}}';
    const output = runTransform([sseText([deltaJson({ content: 'a' }), data])], { mode: 'separate' });
    const view = readClientStream(output);

    expect(output.includes(`data: ${data}\n\n`)).toBe(true);
    expect(view.errors).toEqual([JSON.parse(data).error]);
    expect(view.doneCount).toBe(0);
    expect(view.finishReasons).toEqual({});
  });

  it('normalises a string data error', () => {
    const output = runTransform([sseText(['{"error":"rate limited"}'])], { mode: 'strip' });

    expect(readClientStream(output).errors).toEqual([
      { message: 'rate limited', type: 'upstream_error', param: null, code: null },
    ]);
  });

  it('adds nothing at the end after an error', () => {
    const transform = new ChatStreamTransform({ mode: 'strip' });
    transform.push(sseText([deltaJson({ content: 'a' }), '{"error":{"message":"x"}}']));

    expect(transform.end()).toBe('');
    expect(transform.fail('socket closed')).toBe('');
  });
});

describe('ChatStreamTransform endings', () => {
  it('adds [DONE] when every choice finished', () => {
    const transform = new ChatStreamTransform({ mode: 'separate' });
    transform.push(sseText([deltaJson({ content: 'a' }, 'stop'), usageJson()]));

    expect(transform.end()).toBe('data: [DONE]\n\n');
    expect(transform.sawDone).toBe(false);
  });

  it('sends an error for an unfinished choice', () => {
    const output = runTransform(
      [sseText([deltaJson({ role: 'assistant', content: '' }), deltaJson({ content: '<think>secret plan' })])],
      { mode: 'strip' },
    );
    const view = readClientStream(output);

    expect(view.doneCount).toBe(0);
    expect(view.finishReasons).toEqual({});
    expect(view.errors).toHaveLength(1);
    expect(view.errors[0]).toMatchObject({ type: 'upstream_error', code: 'upstream_incomplete' });
    expect((view.errors[0] as { message: string }).message).toMatch(/ended the stream before finishing the answer/);
    expect(output.includes('secret')).toBe(false);
  });

  it('sends an error when one of two choices is unfinished', () => {
    const stream = sseText([
      chunkJson([
        { index: 0, delta: { content: 'a' }, finish_reason: 'stop' },
        { index: 1, delta: { content: 'b' }, finish_reason: null },
      ]),
    ]);
    const view = readClientStream(runTransform([stream], { mode: 'keep' }));

    expect(view.doneCount).toBe(0);
    expect(view.errors).toHaveLength(1);
    expect((view.errors[0] as { message: string }).message).toMatch(/choice 1/);
  });

  it('sends an error when no chunk arrived', () => {
    const view = readClientStream(runTransform([': only a comment\n\n'], { mode: 'keep' }));

    expect(view.doneCount).toBe(0);
    expect(view.errors).toEqual([
      expect.objectContaining({ type: 'upstream_error', code: 'upstream_incomplete' }),
    ]);
  });

  it('returns nothing at the end after [DONE]', () => {
    const transform = new ChatStreamTransform({ mode: 'keep' });
    const output = transform.push(sseText([deltaJson({ content: 'a' }, 'stop'), '[DONE]']));

    expect(readClientStream(output).doneCount).toBe(1);
    expect(transform.sawDone).toBe(true);
    expect(transform.end()).toBe('');
    expect(transform.fail('late')).toBe('');
  });

  it('reports an unfinished choice at [DONE] as incomplete', () => {
    const output = runTransform([sseText([deltaJson({ role: 'assistant', content: '<thi' }), '[DONE]'])], {
      mode: 'strip',
      responseModel: 'alias',
    });
    const events = clientEvents(output);

    expect(events).toHaveLength(3);
    expect(events[1]?.data).toEqual({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model: 'alias',
      choices: [{ index: 0, delta: { content: '<thi' }, finish_reason: null }],
    });
    expect((events[2]?.data as { error: { code: string } }).error.code).toBe('upstream_incomplete');
    expect(output).not.toContain('data: [DONE]');
  });

  it('sends no [DONE] after an upstream error event', () => {
    const stream = sseText([deltaJson({ role: 'assistant', content: '部分' }), '{"error":{"message":"quota exceeded"}}', '[DONE]']);
    const output = runTransform([stream], { mode: 'strip' });

    expect(output).toContain('quota exceeded');
    expect(output).not.toContain('data: [DONE]');
  });

  it('drops events and comments after [DONE]', () => {
    const stream = sseText([deltaJson({ content: 'a' }, 'stop'), '[DONE]', deltaJson({ content: 'late' })]) + ': late\n\n';
    const view = readClientStream(runTransform([stream], { mode: 'keep' }));

    expect(view.content).toEqual({ 0: 'a' });
    expect(view.eventsAfterDone).toBe(0);
    expect(view.comments).toEqual([]);
  });

  it('fail sends an upstream_stream_error event', () => {
    const transform = new ChatStreamTransform({ mode: 'separate' });
    transform.push(sseText([deltaJson({ content: '<think>a' })]));
    const output = transform.fail('socket hang up');
    const view = readClientStream(output);

    expect(view.doneCount).toBe(0);
    expect(view.finishReasons).toEqual({});
    expect(view.errors).toEqual([
      { message: 'Upstream stream failed: socket hang up', type: 'upstream_error', param: null, code: 'upstream_stream_error' },
    ]);
    expect(transform.end()).toBe('');
    expect(transform.push('data: [DONE]\n\n')).toBe('');
  });
});

describe('ChatStreamTransform decoding', () => {
  it('sends a CR-terminated event without waiting for the next read', () => {
    const transform = new ChatStreamTransform({ mode: 'keep' });
    const output = transform.push(utf8.encode(`data: ${deltaJson({ content: 'now' })}\r\r`));

    expect(readClientStream(output).content).toEqual({ 0: 'now' });
  });

  it('dispatches an event that lacks its blank line at EOF', () => {
    const transform = new ChatStreamTransform({ mode: 'keep' });
    const pushed = transform.push(`data: ${deltaJson({ content: 'last' }, 'stop')}`);
    const ended = transform.end();

    expect(pushed).toBe('');
    expect(readClientStream(ended).content).toEqual({ 0: 'last' });
    expect(readClientStream(ended).doneCount).toBe(1);
  });

  it('forwards non-JSON data unchanged', () => {
    const output = new ChatStreamTransform({ mode: 'strip' }).push('data: not json\ndata: at all\n\n');

    expect(output).toBe('data: not json\ndata: at all\n\n');
  });

  it('forwards other named events', () => {
    const output = new ChatStreamTransform({ mode: 'strip' }).push('event: ping\ndata: {}\n\n');

    expect(output).toBe('event: ping\ndata: {}\n\n');
  });

  it('skips a byte order mark', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8.encode(sseText([deltaJson({ content: 'a' }, 'stop')]))]);
    const view = readClientStream(runTransform([bytes.subarray(0, 2), bytes.subarray(2)], { mode: 'keep' }));

    expect(view.content).toEqual({ 0: 'a' });
  });

  it('ends with an error when an event exceeds maxEventChars', () => {
    const transform = new ChatStreamTransform({ mode: 'keep', maxEventChars: 100 });
    const output = transform.push(`data: ${'x'.repeat(200)}`);
    const view = readClientStream(output);

    expect(view.errors).toEqual([expect.objectContaining({ code: 'upstream_event_too_large' })]);
    expect(transform.push('\n\n')).toBe('');
    expect(transform.end()).toBe('');
  });
});

describe('ChatStreamTransform state', () => {
  it('counts bytes in', () => {
    const transform = new ChatStreamTransform({ mode: 'keep' });
    transform.push(utf8.encode('data: é'));
    transform.push('ü');

    expect(transform.bytesIn).toBe('data: é'.length + 1 + 2);
  });

  it('tracks client-visible output', () => {
    const transform = new ChatStreamTransform({ mode: 'strip' });
    transform.push('data: {"choices":[{"index":0,"delta":{"content":"<think>x"},"finish_reason":null}]}\n\n');

    expect(transform.clientVisibleOutput).toBe(false);

    transform.push(': ping\n\n');

    expect(transform.clientVisibleOutput).toBe(true);
  });

  it('keeps the last usage object', () => {
    const transform = new ChatStreamTransform({ mode: 'keep' });

    expect(transform.usage).toBeNull();

    transform.push(sseText([chunkJson([], { usage: { total_tokens: 1 } }), chunkJson([], { usage: null })]));

    expect(transform.usage).toEqual({ total_tokens: 1 });
  });
});
