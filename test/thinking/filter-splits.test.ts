import { describe, expect, it } from 'vitest';

import { filterCompleteText, type ThinkingMode } from '../../src/thinking/filter.js';
import { runContent, splitAt } from './helpers.js';

interface SplitCase {
  name: string;
  input: string;
  implicitThinkOpen?: boolean;
  // Expected output of strip and separate. Keep always returns the input unchanged.
  stripContent: string;
  separateContent: string;
  separateReasoning: string;
}

const CASES: SplitCase[] = [
  {
    name: '<think> after a newline',
    input: '\n<think>\n我在想 😀 plan\n</think>\n\n你好 👋 world',
    stripContent: '你好 👋 world',
    separateContent: '你好 👋 world',
    separateReasoning: '我在想 😀 plan',
  },
  {
    name: '<thinking> after spaces and a tab',
    input: ' \t<thinking>  思考 🤔\t</thinking>  Answer: 好的 🎉',
    stripContent: 'Answer: 好的 🎉',
    separateContent: 'Answer: 好的 🎉',
    separateReasoning: '思考 🤔',
  },
  {
    name: 'fence with a ```python line inside',
    input: "```thinking\n先想一想 🤔\n```python\nprint('hi')\n```\n答案是 42 😀",
    stripContent: '答案是 42 😀',
    separateContent: '答案是 42 😀',
    separateReasoning: "先想一想 🤔\n```python\nprint('hi')",
  },
  {
    name: 'fence with CRLF and spaces after the closer',
    input: '\r\n```thinking\r\nstep 1 ✔️\r\n```  \r\n\r\nDone 完成',
    stripContent: 'Done 完成',
    separateContent: 'Done 完成',
    separateReasoning: 'step 1 ✔️',
  },
  {
    name: 'fence closer with spaces at the end',
    input: '```thinking\nonly thoughts 😀\n```   ',
    stripContent: '',
    separateContent: '',
    separateReasoning: 'only thoughts 😀',
  },
  {
    name: 'fence with ``` in the middle of a line',
    input: '```thinking\nsee ```\n here 😀\n```\nok',
    stripContent: 'ok',
    separateContent: 'ok',
    separateReasoning: 'see ```\n here 😀',
  },
  {
    name: 'unclosed <think>',
    input: '<think>still thinking 🤔 about 你 </thi',
    stripContent: '',
    separateContent: '',
    separateReasoning: 'still thinking 🤔 about 你 </thi',
  },
  {
    name: 'empty <think> block',
    input: '<think>\n\n</think>\n\n你好',
    stripContent: '你好',
    separateContent: '你好',
    separateReasoning: '',
  },
  {
    name: 'tags after visible text',
    input: 'Use <think> and </think> tags 😀',
    stripContent: 'Use <think> and </think> tags 😀',
    separateContent: 'Use <think> and </think> tags 😀',
    separateReasoning: '',
  },
  {
    name: 'second block after the first',
    input: '<think>一</think> 二 <think>三</think>',
    stripContent: '二 <think>三</think>',
    separateContent: '二 <think>三</think>',
    separateReasoning: '一',
  },
  {
    name: 'implicit <think> closed by </think>',
    input: 'reasoning 思考 😀\n</think>\n\nAnswer 答案',
    implicitThinkOpen: true,
    stripContent: 'Answer 答案',
    separateContent: 'Answer 答案',
    separateReasoning: 'reasoning 思考 😀',
  },
  {
    name: 'implicit mode with literal <think> first',
    input: 'Qwen3 在推理前会输出 `<think>` 标签，结束时输出 `</think>`',
    implicitThinkOpen: true,
    stripContent: 'Qwen3 在推理前会输出 `<think>` 标签，结束时输出 `</think>`',
    separateContent: 'Qwen3 在推理前会输出 `<think>` 标签，结束时输出 `</think>`',
    separateReasoning: '',
  },
  {
    name: 'implicit mode with an explicit fence',
    input: '  ```thinking\n想 </think> 😀\n```\n答 </think>',
    implicitThinkOpen: true,
    stripContent: '答 </think>',
    separateContent: '答 </think>',
    separateReasoning: '想 </think> 😀',
  },
];

const MODES: ThinkingMode[] = ['keep', 'strip', 'separate'];

function expectedFor(testCase: SplitCase, mode: ThinkingMode): { content: string; reasoning: string } {
  switch (mode) {
    case 'keep':
      return { content: testCase.input, reasoning: '' };
    case 'strip':
      return { content: testCase.stripContent, reasoning: '' };
    case 'separate':
      return { content: testCase.separateContent, reasoning: testCase.separateReasoning };
  }
}

describe.each(MODES)('split points in %s mode', (mode) => {
  describe.each(CASES)('$name', (testCase) => {
    const options = { mode, implicitThinkOpen: testCase.implicitThinkOpen ?? false };
    const expected = expectedFor(testCase, mode);

    it('filters the complete text', () => {
      const result = filterCompleteText({ content: testCase.input, reasoning: null, finishReason: 'stop' }, options);
      expect(result.content).toBe(expected.content);
      expect(result.reasoning).toBe(expected.reasoning);
    });

    it('filters every split into two pushes', () => {
      for (let index = 0; index <= testCase.input.length; index++) {
        const chunks = splitAt(testCase.input, [index]);
        expect(runContent(chunks, options), `split at ${index}`).toEqual(expected);
      }
    });

    it('filters every split into three pushes', () => {
      for (let first = 0; first <= testCase.input.length; first++) {
        for (let second = first; second <= testCase.input.length; second++) {
          const chunks = splitAt(testCase.input, [first, second]);
          expect(runContent(chunks, options), `split at ${first} and ${second}`).toEqual(expected);
        }
      }
    });

    it('filters single code-unit pushes', () => {
      expect(runContent(testCase.input.split(''), options)).toEqual(expected);
    });

    it('filters single code-point pushes', () => {
      expect(runContent(Array.from(testCase.input), options)).toEqual(expected);
    });
  });
});
