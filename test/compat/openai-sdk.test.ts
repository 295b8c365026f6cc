/** The official openai SDK against a keeper alias: usage chunks, JSON, aborts and separate mode. */
import { APIUserAbortError } from 'openai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TestProxy } from '../helpers/proxy.js';
import { sleep, startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js';
import { viewOfCompletion, viewOfStream } from './support/collect.js';
import { deepseek, dialectUpstream, openai, splitText } from './support/dialects.js';
import { ANSWER, MONOLOGUE, USER_QUESTION, keeperAlias, startKeeperProxy } from './support/keeper.js';

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

async function setUp(handler: UpstreamHandler) {
  upstream = await startUpstream(handler);
  proxy = await startKeeperProxy(upstream.baseUrl);
  return { upstream, proxy, client: proxy.client() };
}

const question = [{ role: 'user' as const, content: USER_QUESTION }];

describe('openai SDK', () => {
  it('streams with a usage chunk', async () => {
    const { upstream, client } = await setUp(dialectUpstream(openai));
    const stream = await client.chat.completions.create({
      model: keeperAlias('strip'),
      messages: question,
      stream: true,
      stream_options: { include_usage: true },
    });

    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(upstream.requests[0]?.json.stream_options).toEqual({ include_usage: true });
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual(openai.usage);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(ANSWER);
    expect(chunks.every((chunk) => chunk.model === keeperAlias('strip'))).toBe(true);
  });

  it('answers without streaming', async () => {
    const { client } = await setUp(dialectUpstream(openai));
    const { data: completion, response } = await client.chat.completions
      .create({ model: keeperAlias('strip'), messages: question })
      .withResponse();

    expect(completion.choices[0]?.message.content).toBe(ANSWER);
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.model).toBe(keeperAlias('strip'));
    expect(completion.usage?.prompt_tokens_details?.cached_tokens).toBe(384);
    expect(response.headers.get('x-microtune-upstream')).toBe('default');
  });

  it('abort closes the upstream request', async () => {
    const maxChunks = 400;
    let written = 0;
    let closedEarly = false;
    const { client, proxy } = await setUp(async (_request, response) => {
      response.on('close', () => {
        if (!response.writableEnded) closedEarly = true;
      });
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const pieces = splitText(ANSWER.repeat(20), 2).slice(0, maxChunks);
      for (const piece of pieces) {
        if (response.destroyed) return;
        const chunk = { id: 'chatcmpl-slow', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] };
        response.write(`data: ${JSON.stringify(chunk)}\n\n`);
        written += 1;
        await sleep(25);
      }
      response.end('data: [DONE]\n\n');
    });

    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: keeperAlias('keep'), messages: question, stream: true },
      { signal: controller.signal },
    );
    let received = '';
    const reading = (async () => {
      for await (const chunk of stream) {
        received += chunk.choices[0]?.delta.content ?? '';
        if (received.length >= 6) controller.abort();
      }
    })();

    // openai 6.x ends the iteration quietly on an abort instead of throwing APIUserAbortError.
    await reading;
    expect(received.length).toBeLessThan(ANSWER.repeat(20).length);
    await vi.waitFor(() => expect(closedEarly).toBe(true), { timeout: 5000, interval: 20 });
    expect(written).toBeLessThan(maxChunks);
    await vi.waitFor(
      () => expect(proxy.logs.some((line) => line.outcome === 'client_aborted' && line.clientAborted === true)).toBe(true),
      { timeout: 5000, interval: 20 },
    );
    expect(proxy.state.inFlight.size).toBe(0);
  });

  it('abort before the JSON answer closes the upstream request', async () => {
    // A reasoning model answering without streaming sends nothing until it is done, so
    // an impatient client aborts while the proxy still waits for the headers.
    let closedEarly = false;
    const { client } = await setUp(async (request, response) => {
      response.on('close', () => {
        if (!response.writableEnded) closedEarly = true;
      });
      for (let waited = 0; waited < 5000 && !response.destroyed; waited += 50) await sleep(50);
      if (!response.destroyed) await dialectUpstream(openai)(request, response);
    });

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const failure = await client.chat.completions
      .create({ model: keeperAlias('strip'), messages: question }, { signal: controller.signal })
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(APIUserAbortError);
    await vi.waitFor(() => expect(closedEarly).toBe(true), { timeout: 3000, interval: 20 });
  });

  it('separate mode fills reasoning_content', async () => {
    const { client } = await setUp(dialectUpstream(openai));

    const completion = await client.chat.completions.create({ model: keeperAlias('separate'), messages: question });
    const message = completion.choices[0]?.message as unknown as Record<string, unknown>;
    expect(message.content).toBe(ANSWER);
    expect(message.reasoning_content).toBe(MONOLOGUE);

    const view = await viewOfStream(await client.chat.completions.create({ model: keeperAlias('separate'), messages: question, stream: true }));
    expect(view.content).toBe(ANSWER);
    expect(view.reasoning_content).toBe(MONOLOGUE);
  });

  it('stream helper keeps no whole reasoning', async () => {
    // ChatCompletionStream (openai 6.x) copies unknown delta fields with Object.assign, so
    // finalMessage() contains the last reasoning_content value only. With DeepSeek that is the
    // null of the last content chunk. Clients that want the monologue read the deltas.
    const { client } = await setUp(dialectUpstream(deepseek));
    const runner = client.chat.completions.stream({ model: keeperAlias('separate'), messages: question });
    const reasoningPieces: string[] = [];
    runner.on('chunk', (chunk) => {
      const piece = (chunk.choices[0]?.delta as Record<string, unknown> | undefined)?.reasoning_content;
      if (typeof piece === 'string') reasoningPieces.push(piece);
    });
    const message = (await runner.finalMessage()) as unknown as Record<string, unknown>;

    expect(message.content).toBe(ANSWER);
    expect(reasoningPieces.join('')).toBe(MONOLOGUE);
    expect(message.reasoning_content).toBeNull();
  });

  it('header and body override the alias mode', async () => {
    const { client, upstream } = await setUp(dialectUpstream(deepseek));

    const byHeader = await client.chat.completions.create(
      { model: keeperAlias('keep'), messages: question },
      { headers: { 'x-microtune-thinking': 'strip' } },
    );
    expect(byHeader.choices[0]?.message.content).toBe(ANSWER);
    expect((byHeader.choices[0]?.message as unknown as Record<string, unknown>).reasoning_content).toBeUndefined();

    // A variable, not a literal, so TypeScript accepts the field the SDK does not know.
    const bodyOverride = { model: keeperAlias('keep'), messages: question, microtune_thinking: 'strip' };
    const byBody = viewOfCompletion(
      await client.chat.completions.create(bodyOverride, { headers: { 'x-microtune-thinking': 'separate' } }),
    );
    expect(byBody.content).toBe(ANSWER);
    expect(byBody.reasoning_content).toBeUndefined();
    expect(upstream.requests[1]?.json.microtune_thinking).toBeUndefined();
    expect(upstream.requests[1]?.headers['x-microtune-thinking']).toBeUndefined();
  });
});
