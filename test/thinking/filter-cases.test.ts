import { describe, expect, it } from 'vitest';

import { ThinkingFilter, filterCompleteText, type ThinkingMode } from '../../src/thinking/filter.js';
import { runContent, runSteps, type PushStep } from './helpers.js';

const MODES: ThinkingMode[] = ['keep', 'strip', 'separate'];

function complete(content: string | null, mode: ThinkingMode, extra: { implicitThinkOpen?: boolean } = {}) {
  return filterCompleteText({ content, reasoning: null, finishReason: 'stop' }, { mode, ...extra });
}

describe('content without a block', () => {
  it.each(MODES)('keeps leading whitespace in %s mode', (mode) => {
    const result = complete('\n\n  Hello 世界 😀', mode);
    expect(result.content).toBe('\n\n  Hello 世界 😀');
    expect(result.reasoning).toBe('');
  });

  it.each(MODES)('keeps whitespace-only content in %s mode', (mode) => {
    expect(complete(' \n\t', mode).content).toBe(' \n\t');
  });

  it.each(MODES)('keeps a partial opener at the end in %s mode', (mode) => {
    expect(complete('  <thi', mode).content).toBe('  <thi');
    expect(complete('```thinking', mode).content).toBe('```thinking');
    expect(complete('```thinking\r', mode).content).toBe('```thinking\r');
  });

  it.each(MODES)('treats null content as empty in %s mode', (mode) => {
    expect(complete(null, mode).content).toBe('');
  });

  it('needs a line break after the fence opener', () => {
    expect(complete('```thinking about it\n```\nok', 'strip').content).toBe('```thinking about it\n```\nok');
  });

  it('matches openers case-sensitively', () => {
    expect(complete('<THINK>a</THINK>b', 'strip').content).toBe('<THINK>a</THINK>b');
  });
});

describe('inline block', () => {
  it('strips a block after a leading newline', () => {
    expect(complete('\n<think>plan</think>\n\nAnswer', 'strip').content).toBe('Answer');
  });

  it('separates an empty block into no reasoning', () => {
    const result = complete('<think>\n\n</think>\n\n你好', 'separate');
    expect(result.content).toBe('你好');
    expect(result.reasoning).toBe('');
  });

  it('keeps inner whitespace of the reasoning', () => {
    const result = complete('<think>\n line 1\n\n line 2 \n</think>answer', 'separate');
    expect(result.reasoning).toBe('line 1\n\n line 2');
    expect(result.content).toBe('answer');
  });

  it('does not close <think> with </thinking>', () => {
    const result = complete('<think>a</thinking>b</think>c', 'separate');
    expect(result.reasoning).toBe('a</thinking>b');
    expect(result.content).toBe('c');
  });

  it('does not close <thinking> with </think>', () => {
    const result = complete('<thinking>a</think>b</thinking>c', 'separate');
    expect(result.reasoning).toBe('a</think>b');
    expect(result.content).toBe('c');
  });

  it.each(['strip', 'separate'] as const)('removes an unclosed block in %s mode', (mode) => {
    const result = complete('  <think>\n半截的思考 🤔 ', mode);
    expect(result.content).toBe('');
    expect(result.reasoning).toBe(mode === 'separate' ? '半截的思考 🤔' : '');
  });

  it('keeps only whitespace-free text after the closer', () => {
    expect(complete('<think>a</think> \t\r\n b \n', 'strip').content).toBe('b \n');
  });
});

describe('fenced block', () => {
  it('is not closed by a ```python line', () => {
    const result = complete('```thinking\nplan\n```python\nx = 1\n', 'separate');
    expect(result.reasoning).toBe('plan\n```python\nx = 1');
    expect(result.content).toBe('');
  });

  it('closes at ``` and spaces at the end of content', () => {
    const result = complete('```thinking\nplan\n```   ', 'separate');
    expect(result.reasoning).toBe('plan');
    expect(result.content).toBe('');
  });

  it('closes at ``` and a CR at the end of content', () => {
    expect(complete('```thinking\nplan\n```\r', 'separate').reasoning).toBe('plan');
  });

  it('is not closed by ``` in the middle of a line', () => {
    const result = complete('```thinking\nsee ``` here\n```\nok', 'separate');
    expect(result.reasoning).toBe('see ``` here');
    expect(result.content).toBe('ok');
  });

  it('is not closed by ``` followed by text', () => {
    const result = complete('```thinking\nabc\n``` x\nrest', 'separate');
    expect(result.reasoning).toBe('abc\n``` x\nrest');
    expect(result.content).toBe('');
  });

  it('is not closed by ``` followed by a tab', () => {
    expect(complete('```thinking\nabc\n```\t\nrest', 'separate').reasoning).toBe('abc\n```\t\nrest');
  });

  it('is not closed by two backticks at the end', () => {
    expect(complete('```thinking\nabc\n``', 'separate').reasoning).toBe('abc\n``');
  });

  it('closes right after the opener line', () => {
    const result = complete('```thinking\n```\nanswer', 'separate');
    expect(result.reasoning).toBe('');
    expect(result.content).toBe('answer');
  });
});

describe('implicitThinkOpen', () => {
  it('treats text before </think> as thinking', () => {
    const result = complete('先想 😀\n</think>\n\n答案', 'separate', { implicitThinkOpen: true });
    expect(result.reasoning).toBe('先想 😀');
    expect(result.content).toBe('答案');
  });

  it('strips text before </think>', () => {
    expect(complete('先想 😀\n</think>\n\n答案', 'strip', { implicitThinkOpen: true }).content).toBe('答案');
  });

  it('leaves content unchanged when off', () => {
    expect(complete('先想</think>答案', 'strip').content).toBe('先想</think>答案');
  });

  it('keeps content with a literal <think> first', () => {
    const text = 'Qwen3 在推理前会输出 `<think>` 标签，结束时输出 `</think>`';
    expect(complete(text, 'strip', { implicitThinkOpen: true }).content).toBe(text);
    expect(complete(text, 'separate', { implicitThinkOpen: true }).reasoning).toBe('');
  });

  it('releases untagged text at finish', () => {
    const result = runContent(['  Just ', 'an answer 😀'], { mode: 'separate', implicitThinkOpen: true });
    expect(result.content).toBe('  Just an answer 😀');
    expect(result.reasoning).toBe('');
  });

  it('honours an explicit opener at the start', () => {
    const result = complete('<thinking>x</thinking> y </think> z', 'separate', { implicitThinkOpen: true });
    expect(result.reasoning).toBe('x');
    expect(result.content).toBe('y </think> z');
  });

  it('accepts </think> at the very start', () => {
    expect(complete('\n</think>answer', 'strip', { implicitThinkOpen: true }).content).toBe('answer');
  });

  it('changes nothing in keep mode', () => {
    expect(complete('a</think>b', 'keep', { implicitThinkOpen: true }).content).toBe('a</think>b');
  });
});

describe('reasoning field', () => {
  const steps: PushStep[] = [
    { field: 'reasoning', text: '  Let me think 🤔 ' },
    { field: 'reasoning', text: '\n' },
    { field: 'content', text: 'Answer' },
  ];

  it('is returned unchanged in keep mode', () => {
    const result = runSteps(steps, { mode: 'keep' });
    expect(result.records[0]?.output).toEqual({ content: '', reasoning: '  Let me think 🤔 ' });
    expect(result.reasoning).toBe('  Let me think 🤔 \n');
    expect(result.content).toBe('Answer');
  });

  it('is released untrimmed in separate mode', () => {
    const result = runSteps(steps, { mode: 'separate' });
    expect(result.records[0]?.output).toEqual({ content: '', reasoning: '  Let me think 🤔 ' });
    expect(result.reasoning).toBe('  Let me think 🤔 \n');
    expect(result.content).toBe('Answer');
  });

  it('is removed in strip mode', () => {
    const result = runSteps(steps, { mode: 'strip' });
    expect(result.reasoning).toBe('');
    expect(result.content).toBe('Answer');
    expect(result.fallbackUsed).toBe(false);
  });

  it('comes before inline reasoning in separate mode', () => {
    const result = filterCompleteText(
      { content: '<think>inline</think>answer', reasoning: 'field', finishReason: 'stop' },
      { mode: 'separate' },
    );
    expect(result.reasoning).toBe('fieldinline');
    expect(result.content).toBe('answer');
  });
});

describe('empty-answer fallback', () => {
  const reasoningOnly: PushStep[] = [
    { field: 'reasoning', text: 'The answer ' },
    { field: 'reasoning', text: 'is 4 😀' },
  ];

  it('returns reasoning as content on stop', () => {
    const result = runSteps(reasoningOnly, { mode: 'strip' }, 'stop');
    expect(result.finishOutput).toEqual({ content: 'The answer is 4 😀', reasoning: '' });
    expect(result.fallbackUsed).toBe(true);
  });

  it('is off with emptyAnswerFallback false', () => {
    const result = runSteps(reasoningOnly, { mode: 'strip', emptyAnswerFallback: false }, 'stop');
    expect(result.content).toBe('');
    expect(result.fallbackUsed).toBe(false);
  });

  it.each(['length', 'tool_calls', null])('does not fire on finish %s', (finishReason) => {
    const result = runSteps(reasoningOnly, { mode: 'strip' }, finishReason);
    expect(result.content).toBe('');
    expect(result.fallbackUsed).toBe(false);
  });

  it('does not fire when content arrived', () => {
    const result = runSteps([...reasoningOnly, { field: 'content', text: '4' }], { mode: 'strip' }, 'stop');
    expect(result.content).toBe('4');
    expect(result.fallbackUsed).toBe(false);
  });

  it('does not fire for whitespace-only content', () => {
    const result = runSteps([...reasoningOnly, { field: 'content', text: '\n' }], { mode: 'strip' }, 'stop');
    expect(result.content).toBe('\n');
    expect(result.fallbackUsed).toBe(false);
  });

  it('does not fire for content that was all thinking', () => {
    const result = runSteps([...reasoningOnly, { field: 'content', text: '<think>x</think>' }], { mode: 'strip' });
    expect(result.content).toBe('');
    expect(result.fallbackUsed).toBe(false);
  });

  it('drops reasoning that arrives after content', () => {
    const steps: PushStep[] = [
      { field: 'content', text: 'A' },
      { field: 'reasoning', text: 'late' },
    ];
    const result = runSteps(steps, { mode: 'strip' });
    expect(result.content).toBe('A');
    expect(result.fallbackUsed).toBe(false);
  });

  it('ignores empty content pushes', () => {
    const result = runSteps([{ field: 'content', text: '' }, ...reasoningOnly], { mode: 'strip' });
    expect(result.content).toBe('The answer is 4 😀');
    expect(result.fallbackUsed).toBe(true);
  });

  it('ignores unclosed block on length', () => {
    const result = filterCompleteText(
      { content: '<think>long thoughts', reasoning: null, finishReason: 'length' },
      { mode: 'strip' },
    );
    expect(result.content).toBe('');
    expect(result.fallbackUsed).toBe(false);
  });

  it('ignores unclosed block on stop', () => {
    const result = filterCompleteText(
      { content: '<think>long thoughts', reasoning: null, finishReason: 'stop' },
      { mode: 'strip' },
    );
    expect(result.content).toBe('');
    expect(result.fallbackUsed).toBe(false);
  });

  it.each(['keep', 'separate'] as const)('does not apply in %s mode', (mode) => {
    const result = runSteps(reasoningOnly, { mode }, 'stop');
    expect(result.content).toBe('');
    expect(result.reasoning).toBe('The answer is 4 😀');
    expect(result.fallbackUsed).toBe(false);
  });

  it('is reported by filterCompleteText', () => {
    const result = filterCompleteText({ content: null, reasoning: 'why', finishReason: 'stop' }, { mode: 'strip' });
    expect(result).toEqual({ content: 'why', reasoning: '', fallbackUsed: true });
  });
});

describe('filter lifecycle', () => {
  it('rejects pushes after finish', () => {
    const filter = new ThinkingFilter({ mode: 'strip' });
    filter.finish('stop');
    expect(() => filter.pushContent('x')).toThrow(/after finish/);
    expect(() => filter.pushReasoning('x')).toThrow(/after finish/);
  });

  it('returns empty output from a second finish', () => {
    const filter = new ThinkingFilter({ mode: 'separate' });
    expect(filter.pushContent('<think>abc </thi')).toEqual({ content: '', reasoning: 'abc' });
    expect(filter.finish('length')).toEqual({ content: '', reasoning: ' </thi' });
    expect(filter.finish(null)).toEqual({ content: '', reasoning: '' });
  });

  it('is passthrough from the start in keep mode', () => {
    const filter = new ThinkingFilter({ mode: 'keep', implicitThinkOpen: true });
    expect(filter.isPassthrough).toBe(true);
    expect(filter.pushContent('<th')).toEqual({ content: '<th', reasoning: '' });
    expect(filter.pushContent('\uD83D')).toEqual({ content: '\uD83D', reasoning: '' });
    expect(filter.heldContentLength).toBe(0);
  });

  it('is not passthrough before visible text', () => {
    const filter = new ThinkingFilter({ mode: 'strip' });
    expect(filter.isPassthrough).toBe(false);
    filter.pushContent('\n');
    expect(filter.isPassthrough).toBe(false);
    filter.pushContent('Hi');
    expect(filter.isPassthrough).toBe(true);
  });
});
