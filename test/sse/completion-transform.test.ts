import { describe, expect, it } from 'vitest';

import { transformCompletion } from '../../src/sse/completion-transform.js';

type Json = Record<string, unknown>;

function completion(message: Json, extra: Json = {}): Json {
  return {
    id: 'chatcmpl-9',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'upstream/model-7b',
    choices: [{ index: 0, message: { role: 'assistant', ...message }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 },
    ...extra,
  };
}

function messageOf(body: unknown, position = 0): Json {
  return ((body as { choices: { message: Json }[] }).choices[position] as { message: Json }).message;
}

describe('transformCompletion', () => {
  const thinking = completion({ content: '<think>plan it</think>\n\nThe answer.', reasoning: 'field text' });

  it('keep leaves content and reasoning unchanged', () => {
    const result = transformCompletion(thinking, { mode: 'keep', responseModel: 'alias' });

    expect(result.body).toEqual({ ...thinking, model: 'alias' });
    expect(result.fallbackIndexes).toEqual([]);
  });

  it('strip removes blocks and reasoning fields', () => {
    const result = transformCompletion(thinking, { mode: 'strip' });

    expect(messageOf(result.body)).toEqual({ role: 'assistant', content: 'The answer.' });
    expect((result.body as Json).model).toBe('upstream/model-7b');
  });

  it('separate moves reasoning to reasoning_content', () => {
    const result = transformCompletion(thinking, { mode: 'separate' });

    expect(messageOf(result.body)).toEqual({
      role: 'assistant',
      content: 'The answer.',
      reasoning_content: 'field textplan it',
    });
  });

  it('separate omits empty reasoning', () => {
    const result = transformCompletion(completion({ content: 'plain', reasoning_content: '' }), { mode: 'separate' });

    expect(messageOf(result.body)).toEqual({ role: 'assistant', content: 'plain' });
  });

  it('keeps null content', () => {
    const toolCalls = [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }];
    const body = completion({ content: null, tool_calls: toolCalls });
    const result = transformCompletion(body, { mode: 'strip' });

    expect(messageOf(result.body)).toEqual({ role: 'assistant', content: null, tool_calls: toolCalls });
  });

  it('fills an empty answer from the reasoning', () => {
    const body = completion({ content: null, reasoning_content: 'All I wrote.' });
    const result = transformCompletion(body, { mode: 'strip' });

    expect(messageOf(result.body)).toEqual({ role: 'assistant', content: 'All I wrote.' });
    expect(result.fallbackIndexes).toEqual([0]);
  });

  it('filters each choice on its own', () => {
    const body = completion({ content: 'x' });
    body.choices = [
      { index: 0, message: { role: 'assistant', content: '<think>a</think>zero' }, finish_reason: 'stop' },
      { index: 1, message: { role: 'assistant', content: 'one' }, finish_reason: 'length' },
    ];
    const result = transformCompletion(body, { mode: 'separate' });

    expect(messageOf(result.body, 0)).toEqual({ role: 'assistant', content: 'zero', reasoning_content: 'a' });
    expect(messageOf(result.body, 1)).toEqual({ role: 'assistant', content: 'one' });
  });

  it('passes unknown fields through', () => {
    const body = completion({ content: 'hi', annotations: [] }, { service_tier: 'default', provider: 'x' });
    const result = transformCompletion(body, { mode: 'strip', responseModel: 'alias' });

    expect(result.body).toEqual({ ...body, model: 'alias' });
  });

  it('does not modify its input', () => {
    const copy = structuredClone(thinking);
    transformCompletion(thinking, { mode: 'separate', responseModel: 'alias' });

    expect(thinking).toEqual(copy);
  });

  it('returns a non-object body as is', () => {
    expect(transformCompletion('text', { mode: 'strip' })).toEqual({ body: 'text', fallbackIndexes: [] });
    expect(transformCompletion(null, { mode: 'strip' })).toEqual({ body: null, fallbackIndexes: [] });
  });

  it('leaves an error body alone', () => {
    const body = { error: { message: 'bad', type: 'invalid_request_error', param: null, code: null } };

    expect(transformCompletion(body, { mode: 'separate', responseModel: 'alias' }).body).toEqual(body);
  });
});
