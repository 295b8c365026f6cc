/**
 * ChatStreamTransform handles chunks that match a learned text template without JSON.parse
 * (src/sse/chunk-template.ts). These tests run the same reads through the transform with
 * templates on and with them off, and require the same client text from every push(),
 * end() and fail(), the same getters and the same callbacks.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { ChatStreamTransform, type ChatStreamTransformOptions } from '../../src/sse/chat-stream-transform.js';
import type { ThinkingMode } from '../../src/thinking/filter.js';
import { loadCases, upstreamChunkBytes } from '../cases/case-fixture.js';
import { splitAt, splitIntoBytes, utf8 } from './client-stream.js';

/** The transform with templates off: every chunk takes JSON.parse and the object path. */
class FullPathTransform extends ChatStreamTransform {
  protected override templatesEnabled(): boolean {
    return false;
  }
}

interface RunRecord {
  /** What each push() returned, then what end() or fail() returned. */
  writes: string[];
  usage: unknown;
  sawDone: boolean;
  sentError: boolean;
  bytesIn: number;
  clientVisibleOutput: boolean;
  fallbacks: number[];
  toolCallReasoning: [string, string[]][];
}

type Ending = 'end' | 'fail';

function record(
  Transform: typeof ChatStreamTransform,
  reads: readonly (Uint8Array | string)[],
  options: ChatStreamTransformOptions,
  ending: Ending = 'end',
): RunRecord {
  const fallbacks: number[] = [];
  const toolCallReasoning: [string, string[]][] = [];
  const transform = new Transform({
    ...options,
    onFallback: (index) => fallbacks.push(index),
    onToolCallReasoning: (reasoning, ids) => toolCallReasoning.push([reasoning, ids]),
  });
  const writes = reads.map((read) => transform.push(read));
  writes.push(ending === 'end' ? transform.end() : transform.fail('socket reset'));
  return {
    writes,
    usage: transform.usage,
    sawDone: transform.sawDone,
    sentError: transform.sentError,
    bytesIn: transform.bytesIn,
    clientVisibleOutput: transform.clientVisibleOutput,
    fallbacks,
    toolCallReasoning,
  };
}

/** Requires both paths to give the same record, and returns the template path's record. */
function expectSamePaths(reads: readonly (Uint8Array | string)[], options: ChatStreamTransformOptions, ending: Ending = 'end'): RunRecord {
  const fast = record(ChatStreamTransform, reads, options, ending);
  const full = record(FullPathTransform, reads, options, ending);
  expect(fast).toEqual(full);
  return fast;
}

/** Returns how many JSON.parse calls the template path saved on these reads. `parse` is a spy on JSON.parse. */
function parsesSaved(parse: { mock: { calls: unknown[] } }, reads: readonly Uint8Array[], options: ChatStreamTransformOptions): number {
  const before = parse.mock.calls.length;
  record(FullPathTransform, reads, options);
  const full = parse.mock.calls.length - before;
  record(ChatStreamTransform, reads, options);
  return 2 * full - (parse.mock.calls.length - before);
}

const MODES: ThinkingMode[] = ['keep', 'strip', 'separate'];

// ---------------------------------------------------------------- the benchmark's stream

const HEAD =
  '{"id":"chatcmpl-mock1a","object":"chat.completion.chunk","created":1764820000,"model":"bench-model:chunks=64","system_fingerprint":"fp_mock_bench","choices":[';

/** The harness mock's stream: role chunk, a ```thinking block, answer pieces, finish, usage and [DONE]. */
function mockStream(answerPieces: readonly string[]): string[] {
  const pieces = ['```thinking\n', '嗯，用户', '想了解', '西湖的', '\n```\n', ...answerPieces];
  const writes = [`data: ${HEAD}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`];
  for (const piece of pieces) {
    writes.push(`data: ${HEAD}{"index":0,"delta":{"content":${JSON.stringify(piece)}},"logprobs":null,"finish_reason":null}]}\n\n`);
  }
  writes.push(`data: ${HEAD}{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n`);
  writes.push(`data: ${HEAD}],"usage":{"prompt_tokens":9,"completion_tokens":9,"total_tokens":18}}\n\ndata: [DONE]\n\n`);
  return writes;
}

const MOCK_ANSWER = ['西湖位于', '浙江省', '杭州市', '西部，', '是中国', '著名的', '风景', '名胜区。'];

describe('ChatStreamTransform template path', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each(MODES)('matches the full path on the mock stream in %s mode', (mode) => {
    const writes = mockStream(MOCK_ANSWER);
    const bytes = utf8.encode(writes.join(''));
    for (const responseModel of ['microtune-bench', 'bench-model:chunks=64', undefined]) {
      const options = { mode, responseModel };
      expectSamePaths(writes, options);
      expectSamePaths([bytes], options);
      expectSamePaths(splitIntoBytes(bytes), options);
    }
  });

  it('skips JSON.parse for chunks that match the template', () => {
    const writes = mockStream(MOCK_ANSWER);
    const parse = vi.spyOn(JSON, 'parse');
    record(FullPathTransform, writes, { mode: 'strip', responseModel: 'alias' });
    const fullParses = parse.mock.calls.length;
    parse.mockClear();
    record(ChatStreamTransform, writes, { mode: 'strip', responseModel: 'alias' });

    // One chunk per write, the last write's usage chunk included. The template path parses the
    // role chunk, the first content chunk and its template probe, the literal of "\n```\n"
    // (it has escapes), the finish chunk and the usage chunk.
    expect(fullParses).toBe(writes.length);
    expect(parse.mock.calls.length).toBe(6);
  });

  it('matches the full path at every split of the mock stream', () => {
    const bytes = utf8.encode(mockStream(MOCK_ANSWER.slice(0, 3)).join(''));
    for (let cut = 0; cut <= bytes.length; cut++) {
      expectSamePaths(splitAt(bytes, [cut]), { mode: 'strip', responseModel: 'alias' });
    }
  });

  it('falls back on literals that are not one JSON string', () => {
    const literals = [
      '"a"b"',
      '"a\\"',
      '"\\u12"',
      '"\\x41"',
      '"a\tb"',
      '"a","content":"b"',
      '"a"},{"index":1,"delta":{"content":"b"',
      '"model"',
      '"the \\"model\\""',
      '"\\u0041\\n\\/"',
      '""',
      '"',
      '123',
      'null',
      '"\ud800"',
    ];
    // Compact as OpenAI writes chunks, compact with an escaped slash, and spaced as Python's
    // json.dumps writes them. JSON.stringify() of the last two differs from their text.
    for (const [id, separator] of [['c1', ':'], ['c\\/1', ':'], ['c1', ': ']]) {
      const chunk = (delta: string, finishReason = 'null'): string =>
        `data: {"id":"${id}","model"${separator}"up","choices":[{"index":0,"delta":{"content"${separator}${delta}},"finish_reason":${finishReason}}]}\n\n`;
      const writes = [chunk('"first"')];
      for (const literal of literals) writes.push(chunk(literal), chunk('"after"'));
      writes.push(chunk('""', '"stop"'), 'data: [DONE]\n\n');

      for (const mode of MODES) {
        for (const responseModel of ['alias', undefined]) {
          const result = expectSamePaths(writes, { mode, responseModel });
          expect(result.writes.join('')).toContain('"after"');
        }
      }
    }
  });

  it('matches the full path on chunks in multi-line data', () => {
    const chunk = (content: string): string =>
      `data: {"id":"a","model":"up",\ndata: "choices":[{"index":0,"delta":{"content":"${content}"},"finish_reason":null}]}\n\n`;
    const writes = [chunk('one'), chunk('two'), chunk('three'), 'data: [DONE]\n\n'];
    for (const mode of MODES) {
      for (const responseModel of ['alias', undefined]) {
        const result = expectSamePaths(writes, { mode, responseModel });
        expect(result.writes[1]).toContain('\ndata: "choices"');
      }
    }
  });

  it('takes held text after a template chunk under its id', () => {
    const chunk = (id: string, delta: string): string =>
      `data: {"id":"${id}","model":"up","choices":[{"index":0,"delta":${delta},"finish_reason":null}]}\n\n`;
    // The last chunk with choices is a template chunk, and the flush at the end copies its id.
    const writes = [chunk('c1', '{"content":"<think>a"}'), chunk('c2', '{"role":"assistant","content":"b"}'), chunk('c1', '{"content":"c</thi"}')];
    for (const mode of MODES) {
      for (const ending of ['end', 'fail'] as const) {
        const result = expectSamePaths(writes, { mode, responseModel: 'alias' }, ending);
        if (mode === 'separate') {
          expect(result.writes.at(-1)).toContain('{"id":"c1","model":"alias","choices":[{"index":0,"delta":{"reasoning_content":"</thi"}');
        }
      }
    }
  });

  it('keeps a choice with other fields that the filter emptied', () => {
    const chunk = (content: string): string =>
      `data: {"id":"c1","model":"up","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"logprobs":{"content":[]},"finish_reason":null}]}\n\n`;
    const writes = [chunk('<think>'), chunk('hidden'), chunk('more'), chunk('</think>'), chunk('shown'), 'data: [DONE]\n\n'];
    for (const mode of MODES) {
      const result = expectSamePaths(writes, { mode, responseModel: 'alias' });
      expect(result.writes.filter((write) => write !== '').length).toBe(writes.length);
    }
  });

  it('matches the full path on chunks the template must not cover', () => {
    const chunk = (body: string): string => `data: ${body}\n\n`;
    const writes = [
      chunk('{"id":"a","model":"up","choices":[{"index":0,"delta":{"content":"one"},"finish_reason":null}]}'),
      chunk('{"id":"a","model":"up","choices":[{"index":0,"delta":{"content":"two"},"finish_reason":null}]}'),
      // A duplicate content key: the last value wins, so a template on the first one would be wrong.
      chunk('{"id":"a","model":"up","choices":[{"index":0,"delta":{"content":"x","content":"three"},"finish_reason":null}]}'),
      chunk('{"id":"a","model":"up","choices":[{"index":0,"delta":{"content":"x","content":"four"},"finish_reason":null}]}'),
      // Spaces after colons and commas, as Python's json.dumps writes them.
      chunk('{"id": "a", "model": "up", "choices": [{"index": 0, "delta": {"content": "five"}, "finish_reason": null}]}'),
      chunk('{"id": "a", "model": "up", "choices": [{"index": 0, "delta": {"content": "six"}, "finish_reason": null}]}'),
      // The model after the choices, and a second "model" token inside a string.
      chunk('{"id":"a","choices":[{"index":0,"delta":{"content":"seven"},"finish_reason":null}],"model":"up"}'),
      chunk('{"id":"a","choices":[{"index":0,"delta":{"content":"eight"},"finish_reason":null}],"model":"up"}'),
      chunk('{"id":"a","note":"\\"model\\":\\"up\\"","model":"up","choices":[{"index":0,"delta":{"content":"nine"},"finish_reason":null}]}'),
      // Multi-line data, an event name, a comment and a usage object.
      'data: {"id":"a","model":"up",\ndata: "choices":[{"index":0,"delta":{"content":"ten"},"finish_reason":null}]}\n\n',
      'event: message\ndata: {"id":"a","model":"up","choices":[{"index":0,"delta":{"content":"eleven"},"finish_reason":null}]}\n\n',
      ': keep-alive\n\n',
      chunk('{"id":"a","model":"up","choices":[{"index":0,"delta":{"content":"twelve"},"finish_reason":null}],"usage":{"total_tokens":3}}'),
      chunk('{"id":"a","model":"up","choices":[{"index":0,"delta":{"content":"thirteen"},"finish_reason":null,"logprobs":{"content":[]}}]}'),
      chunk('{"id":"a","model":"up","choices":[{"index":0,"delta":{"content":"fourteen"},"finish_reason":null}],"error":null}'),
      chunk('{"id":"a","model":7,"choices":[{"index":0,"delta":{"content":"fifteen"},"finish_reason":null}]}'),
      chunk('{"id":"a","model":7,"choices":[{"index":0,"delta":{"content":"sixteen"},"finish_reason":null}]}'),
      chunk('{"id":"a","model":"up","choices":[{"index":0,"delta":{"content":"end"},"finish_reason":"stop"}]}'),
      'data: [DONE]\n\n',
    ];
    for (const mode of MODES) {
      for (const responseModel of ['alias', 'up', undefined]) {
        expectSamePaths(writes, { mode, responseModel });
        expectSamePaths([writes.join('').replaceAll('\n', '\r\n')], { mode, responseModel });
      }
    }
  });
});

// ---------------------------------------------------------------- shared cases

describe('ChatStreamTransform template path on the shared cases', () => {
  const cases = loadCases();

  it.each(cases.map((replayCase) => [replayCase.id, replayCase] as const))('%s gives the same output on both paths', (_id, replayCase) => {
    const writes = upstreamChunkBytes(replayCase.upstream);
    const bytes = new Uint8Array(Buffer.concat(writes));
    const implicitThinkOpen = replayCase.config?.implicit_think_open ?? false;
    for (const mode of MODES) {
      for (const responseModel of ['client-alias', undefined]) {
        const options = { mode, responseModel, implicitThinkOpen };
        expectSamePaths(writes, options);
        expectSamePaths(writes, options, 'fail');
        expectSamePaths(splitIntoBytes(bytes), options);
      }
    }
    // Every two-read split of the case's bytes, in the case's own mode.
    for (let cut = 0; cut <= bytes.length; cut++) {
      expectSamePaths(splitAt(bytes, [cut]), { mode: replayCase.mode, responseModel: 'client-alias', implicitThinkOpen });
    }
  });
});

// ---------------------------------------------------------------- random streams

/** Content pieces: thinking markers, escapes, `"model"`, surrogates, control characters and CJK. */
const contentText = fc.oneof(
  fc.constantFrom('<think>', '</think>', '<thinking>', '</thinking>', '```thinking\n', '\n```\n', '```', ' ', '\n', '\r\n', ''),
  fc.constantFrom('漢字', '😀', '𝄞', 'é', '"model"', 'model', '\\', '"', '\u2028', '\u0000', '\ud800', '\udc00', 'content'),
  fc.string({ unit: 'binary', maxLength: 6 }),
);

/** How a content literal is written: as JSON.stringify writes it, with \u escapes, or with / escaped. */
const literalStyle = fc.constantFrom('plain', 'unicode', 'slash');

function contentLiteral(text: string, style: string): string {
  const plain = JSON.stringify(text);
  if (style === 'unicode') {
    return plain.replace(/[^\x20-\x7e]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (style === 'slash') return plain.replaceAll('/', '\\/');
  return plain;
}

interface ChunkShape {
  spaced: boolean;
  modelAfterChoices: boolean;
  index: number;
  logprobs: 'absent' | 'null' | 'object';
  usageNull: boolean;
}

const chunkShape: fc.Arbitrary<ChunkShape> = fc.record({
  spaced: fc.boolean(),
  modelAfterChoices: fc.boolean(),
  index: fc.constantFrom(0, 0, 1),
  logprobs: fc.constantFrom<ChunkShape['logprobs']>('absent', 'null', 'object'),
  usageNull: fc.boolean(),
});

/** Returns a JSON chunk with one choice whose delta is `deltaText`, written in the given shape. */
function chunkText(shape: ChunkShape, model: string, deltaText: string, finishReason: string): string {
  const colon = shape.spaced ? ': ' : ':';
  const comma = shape.spaced ? ', ' : ',';
  const field = (key: string, value: string): string => `"${key}"${colon}${value}`;
  const choiceFields = [field('index', String(shape.index)), field('delta', deltaText)];
  if (shape.logprobs !== 'absent') choiceFields.push(field('logprobs', shape.logprobs === 'null' ? 'null' : '{"content":[]}'));
  choiceFields.push(field('finish_reason', finishReason));
  const choices = field('choices', `[{${choiceFields.join(comma)}}]`);
  const modelField = field('model', JSON.stringify(model));
  const fields = [field('id', '"chatcmpl-7"'), field('object', '"chat.completion.chunk"')];
  if (shape.modelAfterChoices) fields.push(choices, modelField);
  else fields.push(modelField, choices);
  if (shape.usageNull) fields.push(field('usage', 'null'));
  return `{${fields.join(comma)}}`;
}

type Event =
  | { kind: 'content'; text: string; style: string }
  | { kind: 'raw'; literal: string }
  | { kind: 'role' }
  | { kind: 'reasoning'; text: string }
  | { kind: 'tool' }
  | { kind: 'finish'; reason: string }
  | { kind: 'usage' }
  | { kind: 'error' }
  | { kind: 'comment' }
  | { kind: 'named' }
  | { kind: 'done' }
  | { kind: 'shape'; shape: ChunkShape };

const event: fc.Arbitrary<Event> = fc.oneof(
  { weight: 24, arbitrary: fc.record({ kind: fc.constant('content' as const), text: contentText, style: literalStyle }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('raw' as const), literal: fc.constantFrom('"a"b"', '"a\\"', '"\\u12"', '"a\nb"', '"x","content":"y"', '1', 'null', '"model"') }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'role' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reasoning' as const), text: contentText }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'tool' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('finish' as const), reason: fc.constantFrom('stop', 'length', 'tool_calls') }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'usage' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'error' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'comment' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'named' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'done' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('shape' as const), shape: chunkShape }) },
);

/** Writes the events as SSE text. A `shape` event changes the shape of the chunks after it. */
function streamText(events: readonly Event[], firstShape: ChunkShape, model: string, lineBreak: string, bom: boolean): string {
  let shape = firstShape;
  const frames: string[] = [];
  const data = (json: string): void => {
    frames.push(`data: ${json}${lineBreak}${lineBreak}`);
  };
  for (const item of events) {
    switch (item.kind) {
      case 'content':
        data(chunkText(shape, model, `{"content":${contentLiteral(item.text, item.style)}}`, 'null'));
        break;
      case 'raw':
        data(chunkText(shape, model, `{"content":${item.literal}}`, 'null'));
        break;
      case 'role':
        data(chunkText(shape, model, '{"role":"assistant","content":""}', 'null'));
        break;
      case 'reasoning':
        data(chunkText(shape, model, `{"content":null,"reasoning_content":${JSON.stringify(item.text)}}`, 'null'));
        break;
      case 'tool':
        data(chunkText(shape, model, '{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]}', 'null'));
        break;
      case 'finish':
        data(chunkText(shape, model, '{}', JSON.stringify(item.reason)));
        break;
      case 'usage':
        data(`{"id":"chatcmpl-7","model":${JSON.stringify(model)},"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`);
        break;
      case 'error':
        data('{"error":{"message":"overloaded","type":"server_error"}}');
        break;
      case 'comment':
        frames.push(`: keep-alive${lineBreak}${lineBreak}`);
        break;
      case 'named':
        frames.push(`event: ping${lineBreak}data: {}${lineBreak}${lineBreak}`);
        break;
      case 'done':
        data('[DONE]');
        break;
      case 'shape':
        shape = item.shape;
        break;
    }
  }
  return (bom ? '\ufeff' : '') + frames.join('');
}

describe('ChatStreamTransform template path on random streams (property)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('matches the full path on random streams', () => {
    const parse = vi.spyOn(JSON, 'parse');
    let runs = 0;
    let runsWithTemplateHits = 0;
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 2, maxLength: 30 }),
        chunkShape,
        fc.constantFrom('up/model-7b', 'alias', 'm"odel\\', '模型'),
        fc.record({
          mode: fc.constantFrom<ThinkingMode>('keep', 'strip', 'separate'),
          responseModel: fc.constantFrom('alias', 'up/model-7b', '"model"', undefined),
          implicitThinkOpen: fc.boolean(),
          emptyAnswerFallback: fc.boolean(),
          maxEventChars: fc.constantFrom(undefined, undefined, 300),
        }),
        fc.constantFrom('\n', '\r\n', '\r'),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 16 }),
        fc.constantFrom<Ending>('end', 'fail'),
        (events, shape, model, options, lineBreak, bom, rawCuts, ending) => {
          const bytes = utf8.encode(streamText(events, shape, model, lineBreak, bom));
          const cuts = rawCuts.map((cut) => cut % (bytes.length + 1));
          const reads = splitAt(bytes, cuts);
          expectSamePaths(reads, options, ending);
          runs++;
          if (parsesSaved(parse, reads, options) > 0) runsWithTemplateHits++;
        },
      ),
      { numRuns: 1500 },
    );
    // The comparison means little unless the template path ran in a good share of the streams.
    expect(runsWithTemplateHits).toBeGreaterThan(runs / 8);
  });

  it('gives the same output when the stream arrives one byte per read', () => {
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 12 }),
        chunkShape,
        fc.constantFrom<ThinkingMode>('keep', 'strip', 'separate'),
        fc.constantFrom('\n', '\r\n'),
        (events, shape, mode, lineBreak) => {
          const bytes = utf8.encode(streamText(events, shape, 'up/model-7b', lineBreak, false));
          expectSamePaths(splitIntoBytes(bytes), { mode, responseModel: 'alias' });
        },
      ),
      { numRuns: 200 },
    );
  });
});
