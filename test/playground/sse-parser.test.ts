import { describe, expect, it } from 'vitest';
import { SSE_PARSER_SOURCE } from '../../src/playground/sse-parser-source.js';

interface SseEvent {
  type: string;
  data: string;
}

interface SseParser {
  push: (text: string) => void;
  end: () => void;
}

type CreateSseParser = (onEvent: (event: SseEvent) => void) => SseParser;

// The same source text the page runs, evaluated here as a function.
const createSseParser = new Function(`${SSE_PARSER_SOURCE}\nreturn createSseParser;`)() as CreateSseParser;

function parse(chunks: string[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createSseParser((event) => events.push(event));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return events;
}

/** Parses `text` split at every pair of positions, so each boundary is tried against each other one. */
function expectSameForEverySplit(text: string, expected: SseEvent[]): void {
  for (let first = 0; first <= text.length; first++) {
    for (let second = first; second <= text.length; second++) {
      const chunks = [text.slice(0, first), text.slice(first, second), text.slice(second)];
      expect(parse(chunks), `split at ${first} and ${second}`).toEqual(expected);
    }
  }
}

describe('playground SSE parser', () => {
  it('parses LF-framed events', () => {
    expect(parse(['data: {"a":1}\n\ndata: [DONE]\n\n'])).toEqual([
      { type: 'message', data: '{"a":1}' },
      { type: 'message', data: '[DONE]' },
    ]);
  });

  it('parses CRLF and CR line endings', () => {
    expect(parse(['data: one\r\n\r\ndata: two\r\rdata: three\n\n'])).toEqual([
      { type: 'message', data: 'one' },
      { type: 'message', data: 'two' },
      { type: 'message', data: 'three' },
    ]);
  });

  it('joins multi-line data with LF', () => {
    expect(parse(['data: first\ndata:second\ndata:  third\ndata\n\n'])).toEqual([
      { type: 'message', data: 'first\nsecond\n third\n' },
    ]);
  });

  it('skips comments and unknown fields', () => {
    expect(parse([': keep-alive\n\n:\nid: 7\nretry: 100\nfoo: bar\ndata: x\n\n'])).toEqual([
      { type: 'message', data: 'x' },
    ]);
  });

  it('reads the event field', () => {
    expect(parse(['event: error\ndata: {"error":{"message":"boom"}}\n\ndata: y\n\n'])).toEqual([
      { type: 'error', data: '{"error":{"message":"boom"}}' },
      { type: 'message', data: 'y' },
    ]);
  });

  it('ignores an event without data', () => {
    expect(parse(['event: ping\n\ndata: z\n\n'])).toEqual([{ type: 'message', data: 'z' }]);
  });

  it('dispatches an empty data field', () => {
    expect(parse(['data:\n\n'])).toEqual([{ type: 'message', data: '' }]);
  });

  it('drops a leading byte order mark', () => {
    expect(parse(['\uFEFF', 'data: bom\n\n'])).toEqual([{ type: 'message', data: 'bom' }]);
  });

  it('discards an unfinished final event', () => {
    expect(parse(['data: whole\n\ndata: cut'])).toEqual([{ type: 'message', data: 'whole' }]);
    expect(parse(['data: whole\n\ndata: cut\n'])).toEqual([{ type: 'message', data: 'whole' }]);
  });

  it('ends an event at a final CR', () => {
    expect(parse(['data: last\r\r'])).toEqual([{ type: 'message', data: 'last' }]);
    expect(parse(['data: last\n\r'])).toEqual([{ type: 'message', data: 'last' }]);
  });

  it('treats a CRLF split across chunks as one line break', () => {
    expect(parse(['data: a\r', '\ndata: b\r', '\n\r', '\n'])).toEqual([{ type: 'message', data: 'a\nb' }]);
  });

  it('gives the same events for every chunk split', () => {
    const text = ': hi\r\ndata: 你好\r\ndata: two\r\n\r\nevent: error\rdata: {"e":1}\r\rdata: [DONE]\n\n';
    expectSameForEverySplit(text, [
      { type: 'message', data: '你好\ntwo' },
      { type: 'error', data: '{"e":1}' },
      { type: 'message', data: '[DONE]' },
    ]);
  });
});
