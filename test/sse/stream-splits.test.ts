import { describe, expect, it } from 'vitest';

import type { ThinkingMode } from '../../src/thinking/filter.js';
import {
  chunkJson,
  deltaJson,
  readClientStream,
  runTransform,
  splitInTwo,
  splitIntoBytes,
  sseText,
  usageJson,
  utf8,
  type ClientView,
} from './client-stream.js';

interface ExpectedText {
  content: Record<number, string>;
  reasoningContent: Record<number, string>;
  reasoning: Record<number, string>;
}

interface Fixture {
  name: string;
  stream: string;
  finishReasons: Record<number, string>;
  /** Number of `[DONE]` events that the client gets. */
  doneCount: number;
  /** Number of error events that the client gets. */
  errorCount: number;
  comments: string[];
  expected: Record<ThinkingMode, ExpectedText>;
}

const USAGE = { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 };

function sameInAllModes(text: ExpectedText): Record<ThinkingMode, ExpectedText> {
  return { keep: text, strip: text, separate: text };
}

const FIXTURES: Fixture[] = [
  {
    name: 'think tags, LF, CJK and emoji',
    stream: sseText([
      deltaJson({ role: 'assistant', content: '' }),
      deltaJson({ content: '<thi' }),
      deltaJson({ content: 'nk>我想一想 🤔' }),
      deltaJson({ content: ' 再想想</th' }),
      deltaJson({ content: 'ink>\n\n答案是 42 🎉' }),
      deltaJson({ content: '。' }, 'stop'),
      usageJson(),
      '[DONE]',
    ]),
    finishReasons: { 0: 'stop' },
    doneCount: 1,
    errorCount: 0,
    comments: [],
    expected: {
      keep: { content: { 0: '<think>我想一想 🤔 再想想</think>\n\n答案是 42 🎉。' }, reasoningContent: {}, reasoning: {} },
      strip: { content: { 0: '答案是 42 🎉。' }, reasoningContent: {}, reasoning: {} },
      separate: { content: { 0: '答案是 42 🎉。' }, reasoningContent: { 0: '我想一想 🤔 再想想' }, reasoning: {} },
    },
  },
  {
    name: 'reasoning_content field, CRLF, comments',
    stream:
      ': PROCESSING\r\n\r\n' +
      sseText(
        [
          deltaJson({ role: 'assistant', content: null, reasoning_content: '' }),
          deltaJson({ content: null, reasoning_content: '思考' }),
        ],
        '\r\n',
      ) +
      ': keep-alive\r\n\r\n' +
      sseText(
        [
          deltaJson({ content: null, reasoning_content: '中…' }),
          deltaJson({ content: '好的', reasoning_content: null }),
          deltaJson({ content: '！😀' }, 'stop'),
          usageJson(),
          '[DONE]',
        ],
        '\r\n',
      ),
    finishReasons: { 0: 'stop' },
    doneCount: 1,
    errorCount: 0,
    comments: ['PROCESSING', 'keep-alive'],
    expected: {
      keep: { content: { 0: '好的！😀' }, reasoningContent: { 0: '思考中…' }, reasoning: {} },
      strip: { content: { 0: '好的！😀' }, reasoningContent: {}, reasoning: {} },
      separate: { content: { 0: '好的！😀' }, reasoningContent: { 0: '思考中…' }, reasoning: {} },
    },
  },
  {
    name: 'reasoning field, CR, fenced block',
    stream: sseText(
      [
        deltaJson({ role: 'assistant', content: '' }),
        deltaJson({ reasoning: 'Plan: ' }),
        deltaJson({ reasoning: 'greet.' }),
        deltaJson({ content: '```thinking\nsecret' }),
        deltaJson({ content: ' notes\n```\nHello' }),
        deltaJson({ content: ' there' }, 'stop'),
        '[DONE]',
      ],
      '\r',
    ),
    finishReasons: { 0: 'stop' },
    doneCount: 1,
    errorCount: 0,
    comments: [],
    expected: {
      keep: {
        content: { 0: '```thinking\nsecret notes\n```\nHello there' },
        reasoningContent: {},
        reasoning: { 0: 'Plan: greet.' },
      },
      strip: { content: { 0: 'Hello there' }, reasoningContent: {}, reasoning: {} },
      separate: { content: { 0: 'Hello there' }, reasoningContent: { 0: 'Plan: greet.secret notes' }, reasoning: {} },
    },
  },
  {
    name: 'mixed line breaks, multi-line data, no space after colon',
    stream:
      `data:${deltaJson({ role: 'assistant', content: '' })}\n\n` +
      'data: {"id":"chatcmpl-1","object":"chat.completion.chunk",\r\n' +
      'data: "created":1700000000,"model":"upstream/model-7b",\r' +
      'data: "choices":[{"index":0,"delta":{"content":"<think>a\\nb"},"finish_reason":null}]}\n\r\n' +
      ': comment between\r\r' +
      `data: ${deltaJson({ content: '</think>Ответ: да' })}\r\n\n` +
      `data: ${deltaJson({ content: '' }, 'stop')}\n\r` +
      'data: [DONE]\r\n\r\n',
    finishReasons: { 0: 'stop' },
    doneCount: 1,
    errorCount: 0,
    comments: ['comment between'],
    expected: {
      keep: { content: { 0: '<think>a\nb</think>Ответ: да' }, reasoningContent: {}, reasoning: {} },
      strip: { content: { 0: 'Ответ: да' }, reasoningContent: {}, reasoning: {} },
      separate: { content: { 0: 'Ответ: да' }, reasoningContent: { 0: 'a\nb' }, reasoning: {} },
    },
  },
  {
    name: 'two choices, interleaved',
    stream: sseText([
      chunkJson([
        { index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null },
        { index: 1, delta: { role: 'assistant', content: '' }, finish_reason: null },
      ]),
      chunkJson([{ index: 0, delta: { content: '<think>hm' }, finish_reason: null }]),
      chunkJson([{ index: 1, delta: { content: 'Ja, 🚀' }, finish_reason: null }]),
      chunkJson([
        { index: 0, delta: { content: '</think>Oui' }, finish_reason: null },
        { index: 1, delta: { content: ' los' }, finish_reason: 'stop' },
      ]),
      chunkJson([{ index: 0, delta: {}, finish_reason: 'length' }]),
      usageJson(),
      '[DONE]',
    ]),
    finishReasons: { 0: 'length', 1: 'stop' },
    doneCount: 1,
    errorCount: 0,
    comments: [],
    expected: {
      keep: { content: { 0: '<think>hm</think>Oui', 1: 'Ja, 🚀 los' }, reasoningContent: {}, reasoning: {} },
      strip: { content: { 0: 'Oui', 1: 'Ja, 🚀 los' }, reasoningContent: {}, reasoning: {} },
      separate: { content: { 0: 'Oui', 1: 'Ja, 🚀 los' }, reasoningContent: { 0: 'hm' }, reasoning: {} },
    },
  },
  {
    name: 'no [DONE] and no final blank line',
    stream:
      sseText([deltaJson({ role: 'assistant', content: 'Grüße ' }), deltaJson({ content: 'aus Köln' })], '\r\n') +
      `data: ${deltaJson({}, 'stop')}`,
    finishReasons: { 0: 'stop' },
    doneCount: 1,
    errorCount: 0,
    comments: [],
    expected: sameInAllModes({ content: { 0: 'Grüße aus Köln' }, reasoningContent: {}, reasoning: {} }),
  },
  {
    name: 'ends inside a think block',
    stream: sseText([
      deltaJson({ role: 'assistant', content: '' }),
      deltaJson({ content: '<think>still ' }),
      deltaJson({ content: 'thinking' }),
    ]),
    finishReasons: {},
    doneCount: 0,
    errorCount: 1,
    comments: [],
    expected: {
      keep: { content: { 0: '<think>still thinking' }, reasoningContent: {}, reasoning: {} },
      strip: { content: { 0: '' }, reasoningContent: {}, reasoning: {} },
      separate: { content: { 0: '' }, reasoningContent: { 0: 'still thinking' }, reasoning: {} },
    },
  },
];

const MODES: ThinkingMode[] = ['keep', 'strip', 'separate'];

function viewOf(parts: readonly Uint8Array[], mode: ThinkingMode): ClientView {
  return readClientStream(runTransform(parts, { mode, responseModel: 'alias' }));
}

describe.each(FIXTURES)('stream $name', (fixture) => {
  const bytes = utf8.encode(fixture.stream);

  describe.each(MODES)('mode %s', (mode) => {
    it('gives the expected client view unsplit', () => {
      const view = viewOf([bytes], mode);
      const expected = fixture.expected[mode];

      expect(view.content).toEqual(expected.content);
      expect(view.reasoningContent).toEqual(expected.reasoningContent);
      expect(view.reasoning).toEqual(expected.reasoning);
      expect(view.finishReasons).toEqual(fixture.finishReasons);
      expect(view.doneCount).toBe(fixture.doneCount);
      expect(view.errors).toHaveLength(fixture.errorCount);
      expect(view.comments).toEqual(fixture.comments);
      expect(view.nonJsonData).toEqual([]);
      expect(view.eventsAfterDone).toBe(0);
      expect(new Set(view.models)).toEqual(new Set(['alias']));
    });

    it('gives the same view for every two-way split', () => {
      const whole = viewOf([bytes], mode);

      for (let index = 0; index <= bytes.length; index++) {
        expect(viewOf(splitInTwo(bytes, index), mode), `split at byte ${index}`).toEqual(whole);
      }
    });

    it('gives the same view with one byte per read', () => {
      const whole = viewOf([bytes], mode);

      expect(viewOf(splitIntoBytes(bytes), mode)).toEqual(whole);
    });
  });
});

describe('stream usage', () => {
  it('reaches the client in every split', () => {
    const bytes = utf8.encode(FIXTURES[0]?.stream ?? '');

    for (let index = 0; index <= bytes.length; index++) {
      expect(viewOf(splitInTwo(bytes, index), 'separate').usage, `split at byte ${index}`).toEqual(USAGE);
    }
  });
});

describe('split inside a multi-byte character', () => {
  it('never produces U+FFFD', () => {
    const stream = sseText([deltaJson({ role: 'assistant', content: '𝄞漢字😀é' }, 'stop'), '[DONE]']);
    const bytes = utf8.encode(stream);

    for (let index = 0; index <= bytes.length; index++) {
      const output = runTransform(splitInTwo(bytes, index), { mode: 'strip' });
      expect(output.includes('\uFFFD'), `split at byte ${index}`).toBe(false);
      expect(readClientStream(output).content).toEqual({ 0: '𝄞漢字😀é' });
    }
  });
});

describe('split inside a CRLF pair', () => {
  it('counts the pair as one line break', () => {
    // The event's data spans two lines. Counting the split pair as two line breaks would
    // end the event after its first line, which is not valid JSON on its own.
    const first = 'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","model":"m",\r';
    const second =
      '\ndata: "choices":[{"index":0,"delta":{"role":"assistant","content":"A"},"finish_reason":null}]}\r\n\r\n' +
      `data: ${deltaJson({ content: 'B' }, 'stop')}\r\n\r\ndata: [DONE]\r\n\r\n`;
    const view = readClientStream(runTransform([utf8.encode(first), utf8.encode(second)], { mode: 'keep' }));

    expect(view.nonJsonData).toEqual([]);
    expect(view.content).toEqual({ 0: 'AB' });
    expect(view.dataEventCount).toBe(3);
  });
});
