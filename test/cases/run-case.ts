/**
 * Replays one case end to end: the mock upstream, the real proxy configured
 * from the case, a raw HTTP client, and the checks of the case's `expect`.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import {
  clientRequestBody,
  scriptedDelayMs,
  upstreamModelFor,
  type ReplayCase,
} from './case-fixture.js';
import { startReplayUpstream, type ReplayedRequest, type ReplayUpstream } from './replay-upstream.js';
import { readStreamView, sendWireRequest, type StreamView, type WireResponse } from './sse-client.js';

/** Name of the pack that carries a case's `system_prompt`. */
const PROMPT_PACK = 'case-prompt';

/** Extra time on top of the script's own waits before a client gives up on a response. */
const RESPONSE_SLACK_MS = 5_000;

/** Interval at which the abort check looks for the upstream socket to close. */
const ABORT_POLL_MS = 10;

export interface CaseEnvironment {
  replayCase: ReplayCase;
  upstream: ReplayUpstream;
  proxy: TestProxy;
  /** The model the client names, which is also the alias key. */
  clientModel: string;
  /** The model the alias sends upstream. */
  upstreamModel: string;
  requestBody: Record<string, unknown>;
  close: () => Promise<void>;
}

export interface EnvironmentOptions {
  /** Overrides the alias's implicitThinkOpen. When undefined, the case's own setting is used. */
  implicitThinkOpen?: boolean;
}

/** Starts the mock upstream and a proxy whose single alias maps the case's mode and config. */
export async function startCaseEnvironment(
  replayCase: ReplayCase,
  options: EnvironmentOptions = {},
): Promise<CaseEnvironment> {
  const requestBody = clientRequestBody(replayCase);
  const clientModel = requestBody.model;
  if (typeof clientModel !== 'string') {
    throw new Error(`${replayCase.id}: the request's model is ${JSON.stringify(clientModel)}, not a string`);
  }
  const upstreamModel = upstreamModelFor(replayCase, clientModel);

  const alias: Record<string, unknown> = { model: upstreamModel, thinking: replayCase.mode };
  const implicitThinkOpen = options.implicitThinkOpen ?? replayCase.config?.implicit_think_open;
  if (implicitThinkOpen !== undefined) alias.implicitThinkOpen = implicitThinkOpen;
  const packs: Record<string, unknown> = {};
  const systemPrompt = replayCase.config?.system_prompt;
  if (systemPrompt !== undefined) {
    alias.pack = PROMPT_PACK;
    packs[`${PROMPT_PACK}.yaml`] = { name: PROMPT_PACK, preamble: systemPrompt };
  }

  const upstream = await startReplayUpstream(replayCase.upstream);
  let proxy: TestProxy;
  try {
    proxy = await startProxy({
      config: {
        upstreams: { default: { baseUrl: upstream.baseUrl, retry: { maxRetries: 0 } } },
        // Without passthrough a wrong alias key fails loudly instead of reaching the upstream in keep mode.
        passthrough: { enabled: false },
        aliases: { [clientModel]: alias },
      },
      packs,
    });
  } catch (error) {
    await upstream.close();
    throw error;
  }

  return {
    replayCase,
    upstream,
    proxy,
    clientModel,
    upstreamModel,
    requestBody,
    close: async () => {
      await proxy.close();
      await upstream.close();
    },
  };
}

/** Returns the time a response may take: the script's waits plus a fixed slack. */
export function responseTimeoutMs(replayCase: ReplayCase): number {
  return scriptedDelayMs(replayCase.upstream) + RESPONSE_SLACK_MS;
}

export interface CaseRun {
  environment: CaseEnvironment;
  response: WireResponse;
  /** True when the client asked for a stream. */
  streamed: boolean;
  bodyText: string;
  /** The stream as a client sees it, empty when the response carried no events. */
  view: StreamView;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
}

/** Sends the case's request to the proxy over a raw socket and reads the whole response. */
export async function sendCaseRequest(environment: CaseEnvironment): Promise<CaseRun> {
  const { replayCase, requestBody, proxy } = environment;
  const disconnectText = replayCase.client?.disconnect_after_content;
  const response = await sendWireRequest({
    url: `${proxy.url}/v1/chat/completions`,
    body: Buffer.from(JSON.stringify(requestBody), 'utf8'),
    headers: replayCase.client?.headers,
    timeoutMs: responseTimeoutMs(replayCase),
    shouldDisconnect:
      disconnectText === undefined
        ? undefined
        : (sse) => (readStreamView(sse.events).contentByIndex[0] ?? '').includes(disconnectText),
  });

  const bodyText = response.body.toString('utf8');
  let json: any;
  try {
    json = JSON.parse(bodyText);
  } catch {
    json = undefined;
  }
  return {
    environment,
    response,
    streamed: requestBody.stream === true,
    bodyText,
    view: readStreamView(response.sse.events),
    json,
  };
}

/** Collects every string inside a JSON value. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

/** Reads a path such as `messages[1].content[1].image_url.url` from a JSON value. */
function readPath(root: unknown, path: string): unknown {
  const steps = [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((match) =>
    match[2] !== undefined ? Number(match[2]) : (match[1] as string),
  );
  let value: any = root;
  for (const step of steps) {
    if (value === null || typeof value !== 'object') return undefined;
    value = value[step];
  }
  return value;
}

/** Checks one `upstream_request` entry against the request the mock received. */
function checkUpstreamRequestEntry(received: ReplayedRequest, key: string, expected: unknown): void {
  if (key === 'body bytes greater than') {
    expect(received.body.length, 'upstream request body size in bytes').toBeGreaterThan(expected as number);
    return;
  }
  const lengthOf = /^(.+) length$/.exec(key);
  if (lengthOf?.[1] !== undefined) {
    const value = readPath(received.json, lengthOf[1]);
    expect(typeof value, `upstream request ${lengthOf[1]} must be a string`).toBe('string');
    expect((value as string).length, `upstream request ${key}`).toBe(expected);
    return;
  }
  if (/\s/.test(key)) {
    throw new Error(`upstream_request key "${key}" is not supported. Add a rule for it to checkUpstreamRequestEntry.`);
  }
  expect(readPath(received.json, key), `upstream request ${key}`).toEqual(expected);
}

function contentOf(run: CaseRun, index: number): unknown {
  if (run.streamed) return run.view.contentByIndex[index] ?? '';
  return run.json?.choices?.[index]?.message?.content;
}

function reasoningOf(run: CaseRun): string {
  if (run.streamed) return run.view.reasoningByIndex[0] ?? '';
  const message = run.json?.choices?.[0]?.message ?? {};
  return [message.reasoning_content, message.reasoning].filter((text) => typeof text === 'string').join('');
}

/** Waits until the upstream socket closes or the deadline passes. */
async function waitForUpstreamClose(received: ReplayedRequest, deadline: number): Promise<void> {
  while (received.socketClosedAt === undefined && performance.now() < deadline) {
    await sleep(ABORT_POLL_MS);
  }
}

/** Checks everything the case's `expect` states, except its free-text notes. */
export async function checkExpectations(run: CaseRun): Promise<void> {
  const { replayCase, upstream } = run.environment;
  const expected = replayCase.expect;
  const { response, view } = run;

  expect(response.endedBy, 'the client response must end instead of hanging').not.toBe('timed_out');
  if (expected.status !== undefined) {
    expect(response.status, `HTTP status (body: ${run.bodyText.slice(0, 300)})`).toBe(expected.status);
  }
  if (expected.content !== undefined) {
    expect(contentOf(run, 0), 'content of choice 0').toBe(expected.content);
  }
  for (const [index, text] of Object.entries(expected.content_by_index ?? {})) {
    expect(contentOf(run, Number(index)), `content of choice ${index}`).toBe(text);
  }
  expect(reasoningOf(run), 'reasoning_content and reasoning text of choice 0').toBe(expected.reasoning ?? '');

  if (expected.done === true) {
    expect(view.endsWithDone, 'the stream ends with data: [DONE]').toBe(true);
    expect(view.doneCount, 'number of [DONE] events').toBe(1);
  } else if (expected.done === false) {
    expect(view.doneCount, 'number of [DONE] events').toBe(0);
  }

  if (expected.finish_reason === null) {
    const received = Object.values(view.finishReasonsByIndex).flat();
    if (!run.streamed && Array.isArray(run.json?.choices)) {
      received.push(...(run.json.choices as any[]).map((choice) => choice.finish_reason).filter((reason) => reason != null));
    }
    expect(received, 'non-null finish_reason values received').toEqual([]);
  } else if (expected.finish_reason !== undefined) {
    const received = run.streamed
      ? [...new Set(view.finishReasonsByIndex[0] ?? [])]
      : [run.json?.choices?.[0]?.finish_reason];
    expect(received, 'finish_reason values of choice 0').toEqual([expected.finish_reason]);
  }

  if (expected.usage !== undefined) {
    const usage = run.streamed ? view.usage : run.json?.usage;
    expect(usage, 'usage').toEqual(expected.usage);
  }
  if (expected.tool_calls !== undefined) {
    const calls = run.streamed ? (view.toolCallsByIndex[0] ?? []) : (run.json?.choices?.[0]?.message?.tool_calls ?? []);
    expect(calls, 'tool calls of choice 0').toMatchObject(expected.tool_calls);
  }

  if (expected.upstream_request !== undefined) {
    expect(upstream.requests.length, 'requests the upstream received').toBe(1);
    const received = upstream.requests[0] as ReplayedRequest;
    for (const [key, value] of Object.entries(expected.upstream_request)) {
      checkUpstreamRequestEntry(received, key, value);
    }
  }

  if (expected.upstream_aborted !== undefined) {
    await checkUpstreamAbort(run);
  }

  if (expected.error_visible !== undefined) {
    const text = expected.error_visible.message_contains;
    const inErrorStatus = response.status >= 400 && run.bodyText.includes(text);
    const inErrorEvent = view.errors.some((error) => stringsIn(error).some((item) => item.includes(text)));
    expect(
      inErrorStatus || inErrorEvent,
      `an HTTP error status with "${text}" in the body, or an SSE error event containing it ` +
        `(status ${response.status}, body: ${run.bodyText.slice(0, 500)})`,
    ).toBe(true);
  }
}

async function checkUpstreamAbort(run: CaseRun): Promise<void> {
  const { replayCase, upstream } = run.environment;
  const expected = replayCase.expect;
  const received = upstream.requests[0];
  expect(received, 'the upstream received the request').toBeDefined();
  if (received === undefined) return;

  if (expected.upstream_aborted === false) {
    expect(received.closedEarly, 'the proxy closed the upstream connection before the answer ended').toBe(false);
    return;
  }
  const disconnectedAt = run.response.disconnectedAt;
  expect(disconnectedAt, 'the client disconnected after the expected content').toBeDefined();
  if (disconnectedAt === undefined) return;

  const bound = expected.abort_within_ms ?? 0;
  await waitForUpstreamClose(received, disconnectedAt + bound + 100);
  expect(received.socketClosedAt, `the upstream socket closed within ${bound} ms of the client disconnect`).toBeDefined();
  const closeDelay = (received.socketClosedAt ?? Infinity) - disconnectedAt;
  expect(closeDelay, 'milliseconds from the client disconnect to the upstream socket close').toBeLessThanOrEqual(bound);
  expect(received.closedEarly, 'the upstream socket closed before the script wrote every chunk').toBe(true);
}

/**
 * Checks the rules every case shares: valid UTF-8 without U+FFFD, only JSON
 * or `[DONE]` in data events, nothing after `[DONE]`, one model name in
 * every chunk, and the pack prompt arriving as the first upstream message.
 */
export function checkCommonRules(run: CaseRun): void {
  const { replayCase, upstream, clientModel, upstreamModel } = run.environment;
  const { response, view } = run;

  expect(() => new TextDecoder('utf-8', { fatal: true }).decode(response.body), 'the body is valid UTF-8').not.toThrow();
  expect(run.bodyText.includes('\uFFFD'), 'the body contains U+FFFD').toBe(false);

  if (run.streamed && response.status === 200) {
    expect(String(response.headers['content-type']), 'content-type of a 200 stream').toContain('text/event-stream');
    expect(view.nonJsonData, 'data events that are neither JSON nor [DONE]').toEqual([]);
    const dataComments = response.sse.lines.filter((line) => /^data: ?:/.test(line));
    expect(dataComments, 'comment lines turned into data lines').toEqual([]);
    const lastEvent = response.sse.events.at(-1);
    if (view.doneCount > 0) expect(lastEvent?.data, 'the last event when [DONE] was sent').toBe('[DONE]');
    const models = [...new Set(view.models)];
    expect(models.length, `model names across chunks: ${models.join(', ')}`).toBeLessThanOrEqual(1);
    for (const model of models) expect([clientModel, upstreamModel], 'model name in chunks').toContain(model);
  }

  const systemPrompt = replayCase.config?.system_prompt;
  if (systemPrompt !== undefined && upstream.requests[0] !== undefined) {
    expect(upstream.requests[0].json?.messages?.[0], 'the pack prompt as the first upstream message').toEqual({
      role: 'system',
      content: systemPrompt,
    });
  }
}

/** True for cases that end in a complete successful response, which the openai SDK must read too. */
export function isPlainSuccess(replayCase: ReplayCase): boolean {
  const expected = replayCase.expect;
  const streamed = clientRequestBody(replayCase).stream === true;
  return (
    expected.status === 200 &&
    expected.error_visible === undefined &&
    replayCase.client?.disconnect_after_content === undefined &&
    (!streamed || expected.done === true)
  );
}

/** Sends the case's request once more through the official openai SDK and checks what it reads. */
export async function checkWithSdk(environment: CaseEnvironment): Promise<void> {
  const { replayCase, requestBody, proxy } = environment;
  const expected = replayCase.expect;
  const client = proxy.client({ defaultHeaders: replayCase.client?.headers });

  if (requestBody.stream !== true) {
    const completion: any = await client.chat.completions.create(requestBody as any);
    if (expected.content !== undefined) {
      expect(completion.choices[0]?.message?.content, 'SDK: message content').toBe(expected.content);
    }
    if (expected.usage !== undefined) expect(completion.usage, 'SDK: usage').toEqual(expected.usage);
    return;
  }

  const stream: AsyncIterable<any> = (await client.chat.completions.create(requestBody as any)) as any;
  let content = '';
  let reasoning = '';
  const finishReasons = new Set<string>();
  let usage: unknown;
  for await (const chunk of stream) {
    if (chunk.usage != null) usage = chunk.usage;
    for (const choice of chunk.choices ?? []) {
      if (choice.index !== 0) continue;
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string') content += delta.content;
      if (typeof delta.reasoning_content === 'string') reasoning += delta.reasoning_content;
      if (typeof delta.reasoning === 'string') reasoning += delta.reasoning;
      if (typeof choice.finish_reason === 'string') finishReasons.add(choice.finish_reason);
    }
  }
  if (expected.content !== undefined) expect(content, 'SDK: content of choice 0').toBe(expected.content);
  expect(reasoning, 'SDK: reasoning text of choice 0').toBe(expected.reasoning ?? '');
  if (typeof expected.finish_reason === 'string') {
    expect([...finishReasons], 'SDK: finish_reason of choice 0').toEqual([expected.finish_reason]);
  }
  if (expected.usage !== undefined) expect(usage, 'SDK: usage').toEqual(expected.usage);
}
