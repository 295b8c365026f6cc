import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { describe, expect, it } from 'vitest';

import { DONE_EVENT, encodeComment, encodeErrorEvent, encodeEvent } from '../../src/sse/encode.js';

function parseEvents(text: string): { events: EventSourceMessage[]; comments: string[] } {
  const events: EventSourceMessage[] = [];
  const comments: string[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event), onComment: (comment) => comments.push(comment) });
  parser.feed(text);
  return { events, comments };
}

describe('encodeEvent', () => {
  it('writes one data line', () => {
    expect(encodeEvent('{"a":1}')).toBe('data: {"a":1}\n\n');
  });

  it('writes the event name first', () => {
    expect(encodeEvent('x', 'ping')).toBe('event: ping\ndata: x\n\n');
  });

  it('splits multi-line data into data lines', () => {
    expect(encodeEvent('a\nb\r\nc\rd')).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
  });

  it('round-trips data through a parser', () => {
    const data = 'first\n second\n\nlast ';
    const { events } = parseEvents(encodeEvent(data));

    expect(events).toHaveLength(1);
    expect(events[0]?.data).toBe(data);
  });

  it('round-trips empty data', () => {
    const { events } = parseEvents(encodeEvent(''));

    expect(events).toHaveLength(1);
    expect(events[0]?.data).toBe('');
  });

  it('rejects an event name with a line break', () => {
    expect(() => encodeEvent('x', 'a\nb')).toThrow(/line break/);
  });
});

describe('encodeComment', () => {
  it('writes a comment line and a blank line', () => {
    expect(encodeComment('keep-alive')).toBe(': keep-alive\n\n');
  });

  it('writes an empty comment as a bare colon', () => {
    expect(encodeComment('')).toBe(':\n\n');
  });

  it('never produces a data event', () => {
    const { events, comments } = parseEvents(encodeComment('one\ndata: two'));

    expect(events).toEqual([]);
    expect(comments).toEqual(['one', 'data: two']);
  });
});

describe('DONE_EVENT', () => {
  it('is the OpenAI end marker', () => {
    expect(DONE_EVENT).toBe('data: [DONE]\n\n');
  });
});

describe('encodeErrorEvent', () => {
  it('writes the OpenAI error shape', () => {
    const text = encodeErrorEvent({ message: 'boom', type: 'upstream_error', code: 'upstream_incomplete', param: 'p' });

    expect(text.startsWith('data: ')).toBe(true);
    expect(text.endsWith('\n\n')).toBe(true);
    expect(JSON.parse(text.slice('data: '.length))).toEqual({
      error: { message: 'boom', type: 'upstream_error', param: 'p', code: 'upstream_incomplete' },
    });
  });

  it('defaults param and code to null', () => {
    const { events } = parseEvents(encodeErrorEvent({ message: 'multi\nline', type: 't' }));

    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]?.data ?? '')).toEqual({ error: { message: 'multi\nline', type: 't', param: null, code: null } });
  });
});
