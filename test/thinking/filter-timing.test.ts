import { describe, expect, it } from 'vitest';

import { ThinkingFilter, type ThinkingFilterOptions } from '../../src/thinking/filter.js';

interface TimedPush {
  push: string;
  content: string;
  reasoning?: string;
  heldLength: number;
  passthrough?: boolean;
}

/** Pushes each piece and checks the output, the held length and, when given, isPassthrough. */
function expectTimeline(options: ThinkingFilterOptions, timeline: TimedPush[]): ThinkingFilter {
  const filter = new ThinkingFilter(options);
  timeline.forEach((step, index) => {
    const label = `push ${index} (${JSON.stringify(step.push)})`;
    const output = filter.pushContent(step.push);
    expect(output.content, `${label} content`).toBe(step.content);
    expect(output.reasoning, `${label} reasoning`).toBe(step.reasoning ?? '');
    expect(filter.heldContentLength, `${label} held length`).toBe(step.heldLength);
    if (step.passthrough !== undefined) {
      expect(filter.isPassthrough, `${label} isPassthrough`).toBe(step.passthrough);
    }
  });
  return filter;
}

describe('release timing', () => {
  it('releases visible text at once', () => {
    expectTimeline({ mode: 'strip' }, [
      { push: '你好', content: '你好', heldLength: 0, passthrough: true },
      { push: ' <think>', content: ' <think>', heldLength: 0, passthrough: true },
    ]);
  });

  it('holds a partial opener and drops the block', () => {
    const filter = expectTimeline({ mode: 'strip' }, [
      { push: '<th', content: '', heldLength: 3, passthrough: false },
      { push: 'ink>', content: '', heldLength: 0, passthrough: false },
      { push: 'abc', content: '', heldLength: 0 },
      { push: '</th', content: '', heldLength: 4 },
      { push: 'ink>', content: '', heldLength: 0, passthrough: false },
      { push: '\n\n', content: '', heldLength: 0, passthrough: false },
      { push: 'x', content: 'x', heldLength: 0, passthrough: true },
      { push: '\n<think>y', content: '\n<think>y', heldLength: 0, passthrough: true },
    ]);
    expect(filter.finish('stop')).toEqual({ content: '', reasoning: '' });
  });

  it('releases an opener prefix that turns out literal', () => {
    expectTimeline({ mode: 'strip' }, [
      { push: '\n', content: '', heldLength: 1 },
      { push: '<thin', content: '', heldLength: 6 },
      { push: 'g about', content: '\n<thing about', heldLength: 0, passthrough: true },
    ]);
  });

  it('holds leading whitespace until visible text', () => {
    expectTimeline({ mode: 'separate' }, [
      { push: '\n\n', content: '', heldLength: 2 },
      { push: '  ', content: '', heldLength: 4 },
      { push: 'Hi', content: '\n\n  Hi', heldLength: 0, passthrough: true },
    ]);
  });

  it('streams reasoning and holds trailing whitespace', () => {
    const filter = expectTimeline({ mode: 'separate' }, [
      { push: '<think>', content: '', heldLength: 0 },
      { push: '\n  ', content: '', heldLength: 3 },
      { push: 'abc', content: '', reasoning: 'abc', heldLength: 0 },
      { push: '  ', content: '', heldLength: 2 },
      { push: 'def', content: '', reasoning: '  def', heldLength: 0 },
      { push: ' </thi', content: '', heldLength: 6 },
      { push: 'nk>', content: '', heldLength: 0 },
      { push: '\n答', content: '答', heldLength: 0, passthrough: true },
    ]);
    expect(filter.finish('stop')).toEqual({ content: '', reasoning: '' });
  });

  it('releases a closer prefix that turns out literal', () => {
    expectTimeline({ mode: 'separate' }, [
      { push: '<thinking>a', content: '', reasoning: 'a', heldLength: 0 },
      { push: '</thinkin', content: '', heldLength: 9 },
      { push: 'x', content: '', reasoning: '</thinkinx', heldLength: 0 },
    ]);
  });

  it('holds a fence closer line', () => {
    const filter = expectTimeline({ mode: 'separate' }, [
      { push: '``', content: '', heldLength: 2 },
      { push: '`thi', content: '', heldLength: 6 },
      { push: 'nking\n', content: '', heldLength: 0 },
      { push: 'plan\n``', content: '', reasoning: 'plan', heldLength: 3 },
      { push: '`python\n', content: '', reasoning: '\n```python', heldLength: 1 },
      { push: 'x = 1\n```', content: '', reasoning: '\nx = 1', heldLength: 4 },
      { push: '  ', content: '', heldLength: 6 },
      { push: '\nanswer', content: 'answer', heldLength: 0, passthrough: true },
    ]);
    expect(filter.finish('stop')).toEqual({ content: '', reasoning: '' });
  });

  it('holds only a partial closer in strip mode', () => {
    expectTimeline({ mode: 'strip' }, [
      { push: '```thinking\n', content: '', heldLength: 0 },
      { push: 'plan  \n', content: '', heldLength: 0 },
      { push: '``', content: '', heldLength: 2 },
      { push: '`', content: '', heldLength: 3 },
      { push: ' \n\n', content: '', heldLength: 0 },
      { push: 'ok', content: 'ok', heldLength: 0, passthrough: true },
    ]);
  });

  it('holds implicit text until a tag', () => {
    const filter = expectTimeline({ mode: 'separate', implicitThinkOpen: true }, [
      { push: 'abc', content: '', heldLength: 3 },
      { push: ' def</th', content: '', heldLength: 11 },
      { push: 'ink>\n', content: '', reasoning: 'abc def', heldLength: 0, passthrough: false },
      { push: 'ans', content: 'ans', heldLength: 0, passthrough: true },
    ]);
    expect(filter.finish('stop')).toEqual({ content: '', reasoning: '' });
  });

  it('releases implicit text at literal <think>', () => {
    expectTimeline({ mode: 'strip', implicitThinkOpen: true }, [
      { push: 'Qwen3 在推理前会输出 `', content: '', heldLength: 15 },
      { push: '<think>` 标签', content: 'Qwen3 在推理前会输出 `<think>` 标签', heldLength: 0, passthrough: true },
      { push: '，结束时输出 `</think>`', content: '，结束时输出 `</think>`', heldLength: 0, passthrough: true },
    ]);
  });

  it('releases held implicit text at finish', () => {
    const filter = expectTimeline({ mode: 'strip', implicitThinkOpen: true }, [
      { push: ' Plain', content: '', heldLength: 6 },
      { push: ' answer', content: '', heldLength: 13 },
    ]);
    expect(filter.finish(null)).toEqual({ content: ' Plain answer', reasoning: '' });
  });
});

describe('surrogate pairs', () => {
  const [high, low] = ['😀'.charAt(0), '😀'.charAt(1)];

  it('holds a high surrogate before visible text', () => {
    expectTimeline({ mode: 'strip' }, [
      { push: ` ${high}`, content: ' ', heldLength: 1, passthrough: false },
      { push: `${low}!`, content: '😀!', heldLength: 0, passthrough: true },
    ]);
  });

  it('holds a high surrogate in separate reasoning', () => {
    expectTimeline({ mode: 'separate' }, [
      { push: `<think>a ${high}`, content: '', reasoning: 'a', heldLength: 2 },
      { push: `${low}b`, content: '', reasoning: ' 😀b', heldLength: 0 },
    ]);
  });

  it('holds a high surrogate after the closer', () => {
    expectTimeline({ mode: 'strip' }, [
      { push: `<think>a</think>\n${high}`, content: '', heldLength: 1, passthrough: false },
      { push: low, content: '😀', heldLength: 0, passthrough: true },
    ]);
  });

  it('returns a split pair unchanged in passthrough', () => {
    expectTimeline({ mode: 'strip' }, [
      { push: 'a', content: 'a', heldLength: 0, passthrough: true },
      { push: `b${high}`, content: `b${high}`, heldLength: 0, passthrough: true },
      { push: low, content: low, heldLength: 0, passthrough: true },
    ]);
  });

  it('flushes a lone high surrogate at finish', () => {
    const filter = expectTimeline({ mode: 'strip' }, [{ push: `x${high}`, content: 'x', heldLength: 1 }]);
    expect(filter.finish('stop')).toEqual({ content: high, reasoning: '' });
  });
});
