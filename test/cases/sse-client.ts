/**
 * A wire-level client for the proxy: sends one chat completion request over
 * node:http, keeps the raw response bytes with arrival times, and parses
 * server-sent events itself so that comments, `[DONE]` and malformed lines
 * stay visible to the checks.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';

/** One dispatched server-sent event. */
export interface SseEvent {
  /** The `event:` field, or `message` when absent. */
  type: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** performance.now() when the blank line that ended the event arrived. */
  receivedAt: number;
}

/**
 * Incremental parser for the WHATWG event-stream format. Lines end with CRLF,
 * LF or CR, and a CRLF split across two feeds is one line break. Lines that
 * start with `:` are comments. One space after the field colon is dropped,
 * and a blank line dispatches the event.
 */
export class SseParser {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  /** Every complete line, exactly as received, for checks on the wire format. */
  readonly lines: string[] = [];
  private readonly decoder = new TextDecoder('utf-8');
  private buffer = '';
  private skipLeadingLineFeed = false;
  private dataLines: string[] = [];
  private eventType = '';
  private startedBody = false;

  feed(bytes: Uint8Array, receivedAt: number): void {
    this.consume(this.decoder.decode(bytes, { stream: true }), receivedAt);
  }

  /** Flushes the decoder. A last event without its closing blank line is dropped, as the format requires. */
  end(receivedAt: number): void {
    this.consume(this.decoder.decode(), receivedAt);
  }

  private consume(text: string, receivedAt: number): void {
    let rest = text;
    if (!this.startedBody && rest !== '') {
      this.startedBody = true;
      if (rest.startsWith('\uFEFF')) rest = rest.slice(1);
    }
    if (this.skipLeadingLineFeed && rest !== '') {
      if (rest.startsWith('\n')) rest = rest.slice(1);
      this.skipLeadingLineFeed = false;
    }
    this.buffer += rest;

    for (;;) {
      const breakAt = this.buffer.search(/[\r\n]/);
      if (breakAt < 0) return;
      const line = this.buffer.slice(0, breakAt);
      let breakLength = 1;
      if (this.buffer[breakAt] === '\r') {
        if (breakAt + 1 < this.buffer.length) {
          if (this.buffer[breakAt + 1] === '\n') breakLength = 2;
        } else {
          // The LF of this CRLF may still be on its way in the next read.
          this.skipLeadingLineFeed = true;
        }
      }
      this.buffer = this.buffer.slice(breakAt + breakLength);
      this.processLine(line, receivedAt);
    }
  }

  private processLine(line: string, receivedAt: number): void {
    this.lines.push(line);
    if (line === '') {
      if (this.dataLines.length > 0) {
        this.events.push({ type: this.eventType || 'message', data: this.dataLines.join('\n'), receivedAt });
      }
      this.dataLines = [];
      this.eventType = '';
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1));
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.dataLines.push(value);
    else if (field === 'event') this.eventType = value;
  }
}

export type StreamEnd = 'end' | 'aborted' | 'client_disconnected' | 'timed_out';

export interface WireResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Every response body read, with its arrival time. */
  reads: { bytes: Buffer; receivedAt: number }[];
  body: Buffer;
  /** How the response body stopped: a clean end, an abnormal close, the client's own disconnect or the time limit. */
  endedBy: StreamEnd;
  endedAt: number;
  /** performance.now() when the client closed the connection on purpose. */
  disconnectedAt: number | undefined;
  sse: SseParser;
}

export interface WireRequestOptions {
  url: string;
  body: Buffer;
  headers?: Record<string, string>;
  /** Give up and close the connection after this many milliseconds. */
  timeoutMs: number;
  /** Called after each read. Returning true closes the connection at once. */
  shouldDisconnect?: (sse: SseParser) => boolean;
}

/** Sends a POST and reads the whole response, resolving also on a timeout or an abnormal close. */
export function sendWireRequest(options: WireRequestOptions): Promise<WireResponse> {
  return new Promise((resolve, reject) => {
    const sse = new SseParser();
    const reads: WireResponse['reads'] = [];
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    let disconnectedAt: number | undefined;
    let settled = false;

    const finish = (endedBy: StreamEnd) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const endedAt = performance.now();
      sse.end(endedAt);
      resolve({
        status,
        headers,
        reads,
        body: Buffer.concat(reads.map((read) => read.bytes)),
        endedBy,
        endedAt,
        disconnectedAt,
        sse,
      });
    };

    const request = httpRequest(
      options.url,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': String(options.body.length),
          ...options.headers,
        },
      },
      (response) => {
        status = response.statusCode ?? 0;
        headers = response.headers;
        response.on('data', (bytes: Buffer) => {
          if (settled) return;
          const receivedAt = performance.now();
          reads.push({ bytes, receivedAt });
          sse.feed(bytes, receivedAt);
          if (options.shouldDisconnect?.(sse) === true) {
            disconnectedAt = performance.now();
            request.destroy();
            finish('client_disconnected');
          }
        });
        response.on('end', () => finish('end'));
        response.on('error', () => finish('aborted'));
        response.on('close', () => finish(response.complete ? 'end' : 'aborted'));
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      finish('timed_out');
    }, options.timeoutMs);
    request.on('error', (error) => {
      if (status !== 0) finish('aborted');
      else if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(error);
      }
    });
    request.end(options.body);
  });
}

type Json = Record<string, any>;

/** A tool call after joining its argument fragments. */
export interface JoinedToolCall {
  index: number;
  id?: string;
  type?: string;
  function: { name?: string; arguments: string };
}

/** What an OpenAI client takes from the stream, per choice index. */
export interface StreamView {
  contentByIndex: Record<number, string>;
  /** Every non-null `delta.content` string for choice 0, in arrival order. */
  contentDeltas: string[];
  /** reasoning_content and reasoning text per choice index, summed. */
  reasoningByIndex: Record<number, string>;
  finishReasonsByIndex: Record<number, string[]>;
  toolCallsByIndex: Record<number, JoinedToolCall[]>;
  /** The last non-null `usage` received. */
  usage: unknown;
  /** Data events that parsed as JSON objects, in arrival order. */
  chunks: { json: Json; receivedAt: number }[];
  /** `error` values of data events that have one. */
  errors: unknown[];
  /** Data that is neither JSON nor `[DONE]`. */
  nonJsonData: string[];
  doneCount: number;
  /** True when the last data event is `[DONE]`. */
  endsWithDone: boolean;
  models: string[];
  /** performance.now() when the content for choice 0 first contained the given text. */
  contentReachedAt: (text: string) => number | undefined;
}

function append(record: Record<number, string>, index: number, text: unknown): void {
  if (typeof text === 'string') record[index] = (record[index] ?? '') + text;
}

function joinToolCalls(into: JoinedToolCall[], fragments: unknown[]): void {
  for (const fragment of fragments as Json[]) {
    const index = typeof fragment.index === 'number' ? fragment.index : 0;
    let call = into.find((item) => item.index === index);
    if (call === undefined) {
      call = { index, function: { arguments: '' } };
      into.push(call);
    }
    if (typeof fragment.id === 'string') call.id = fragment.id;
    if (typeof fragment.type === 'string') call.type = fragment.type;
    const fn = (fragment.function ?? {}) as Json;
    if (typeof fn.name === 'string') call.function.name = fn.name;
    if (typeof fn.arguments === 'string') call.function.arguments += fn.arguments;
  }
}

/** Collects what each choice received from the parsed events. */
export function readStreamView(events: readonly SseEvent[]): StreamView {
  const view: Omit<StreamView, 'contentReachedAt'> = {
    contentByIndex: {},
    contentDeltas: [],
    reasoningByIndex: {},
    finishReasonsByIndex: {},
    toolCallsByIndex: {},
    usage: undefined,
    chunks: [],
    errors: [],
    nonJsonData: [],
    doneCount: 0,
    endsWithDone: events.length > 0 && events[events.length - 1]?.data === '[DONE]',
    models: [],
  };
  const contentTimeline: { content: string; receivedAt: number }[] = [];

  for (const event of events) {
    if (event.data === '[DONE]') {
      view.doneCount += 1;
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(event.data);
    } catch {
      view.nonJsonData.push(event.data);
      continue;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      view.nonJsonData.push(event.data);
      continue;
    }
    const json = parsed as Json;
    view.chunks.push({ json, receivedAt: event.receivedAt });
    if ('error' in json) view.errors.push(json.error);
    if (typeof json.model === 'string') view.models.push(json.model);
    if (json.usage !== undefined && json.usage !== null) view.usage = json.usage;

    for (const choice of Array.isArray(json.choices) ? (json.choices as Json[]) : []) {
      const index = typeof choice.index === 'number' ? choice.index : 0;
      const delta = (choice.delta ?? {}) as Json;
      append(view.contentByIndex, index, delta.content);
      append(view.reasoningByIndex, index, delta.reasoning_content);
      append(view.reasoningByIndex, index, delta.reasoning);
      if (index === 0 && typeof delta.content === 'string') {
        view.contentDeltas.push(delta.content);
        contentTimeline.push({ content: view.contentByIndex[0] ?? '', receivedAt: event.receivedAt });
      }
      if (Array.isArray(delta.tool_calls)) {
        view.toolCallsByIndex[index] ??= [];
        joinToolCalls(view.toolCallsByIndex[index], delta.tool_calls as unknown[]);
      }
      if (typeof choice.finish_reason === 'string') {
        view.finishReasonsByIndex[index] ??= [];
        view.finishReasonsByIndex[index].push(choice.finish_reason);
      }
    }
  }

  return {
    ...view,
    contentReachedAt: (text) => contentTimeline.find((entry) => entry.content.includes(text))?.receivedAt,
  };
}
