import { describe, expect, it } from 'vitest';
import { MessageTokenCounter } from '../../src/conversation/message-tokens.js';
import { countTokens } from '../../src/packs/count-tokens.js';

describe('MessageTokenCounter', () => {
  it('counts text with o200k_base plus overhead', () => {
    const counter = new MessageTokenCounter();
    const text = '掌柜的，今晚渡口还有船吗？';

    expect(counter.count({ role: 'user', content: text })).toBe(countTokens(text) + 4);
  });

  it('counts only the text parts', () => {
    const counter = new MessageTokenCounter();
    const content = [
      { type: 'text', text: '看看这张地图。' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      { type: 'text', text: '渡口在哪边？' },
    ];

    expect(counter.count({ role: 'user', content })).toBe(countTokens('看看这张地图。\n渡口在哪边？') + 4);
  });

  it('counts tool calls and reasoning', () => {
    const counter = new MessageTokenCounter();
    const toolCalls = [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"杭州"}' } }];
    const reasoning = '用户要去杭州，先查天气。';

    const tokens = counter.count({ role: 'assistant', content: null, tool_calls: toolCalls, reasoning_content: reasoning });

    expect(tokens).toBe(countTokens(JSON.stringify(toolCalls) + reasoning) + 4);
  });

  it('keys the cache by message content', () => {
    const counter = new MessageTokenCounter();
    const first = counter.count({ role: 'assistant', content: '客官慢走。' });

    expect(counter.count({ role: 'assistant', content: '客官慢走。' })).toBe(first);
    expect(counter.count({ role: 'user', content: '客官慢走。' })).toBe(first);
    expect(counter.count({ role: 'assistant', content: '客官慢走，明日再来。' })).toBeGreaterThan(first);
  });
});
