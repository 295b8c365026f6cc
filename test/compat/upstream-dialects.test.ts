/**
 * One scripted upstream per service dialect, driven through the official openai SDK in
 * every thinking mode, as JSON and as a stream.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TestProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { viewOfCompletion, viewOfStream, type ClientView } from './support/collect.js';
import { DIALECTS, dialectUpstream, qwqVllm, openrouter, type Dialect } from './support/dialects.js';
import {
  ANSWER,
  MONOLOGUE,
  THINKING_MODES,
  USER_QUESTION,
  keeperAlias,
  startKeeperProxy,
  startsWithKeeperPack,
  type ThinkingMode,
} from './support/keeper.js';

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

async function setUp(dialect: Dialect, alias: Record<string, unknown> | undefined = dialect.alias) {
  upstream = await startUpstream(dialectUpstream(dialect));
  proxy = await startKeeperProxy(upstream.baseUrl, { model: dialect.model, ...(alias !== undefined ? { alias } : {}) });
  return { upstream, proxy };
}

async function ask(proxy: TestProxy, mode: ThinkingMode, transport: 'json' | 'stream'): Promise<ClientView> {
  const client = proxy.client();
  const request = { model: keeperAlias(mode), messages: [{ role: 'user' as const, content: USER_QUESTION }] };
  if (transport === 'json') return viewOfCompletion(await client.chat.completions.create(request));
  return viewOfStream(await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } }));
}

/** Checks what each mode promises the client for this dialect. */
function expectModeView(view: ClientView, dialect: Dialect, mode: ThinkingMode): void {
  if (mode === 'keep') {
    expect(view.content).toBe(dialect.keep.content);
    expect(view.reasoning_content).toBe(dialect.keep.reasoning_content);
    expect(view.reasoning).toBe(dialect.keep.reasoning);
    return;
  }
  expect(view.content).toBe(ANSWER);
  expect(view.reasoning).toBeUndefined();
  if (mode === 'strip') {
    expect(view.reasoning_content).toBeUndefined();
  } else {
    expect(view.reasoning_content).toBe(MONOLOGUE);
  }
}

describe.each(DIALECTS.map((dialect) => [dialect.name, dialect] as const))('%s upstream', (_name, dialect) => {
  for (const mode of THINKING_MODES) {
    for (const transport of ['json', 'stream'] as const) {
      it(`${mode} mode, ${transport}`, async () => {
        const { upstream, proxy } = await setUp(dialect);

        const view = await ask(proxy, mode, transport);

        expect(upstream.requests).toHaveLength(1);
        expect(startsWithKeeperPack(upstream.requests[0]!)).toBe(true);
        expect(upstream.requests[0]?.json.model).toBe(dialect.model);
        expectModeView(view, dialect, mode);
        expect([...view.models]).toEqual([keeperAlias(mode)]);
        expect(view.finishReason).toBe('stop');
        expect(view.usage).toEqual(dialect.usage);
      });
    }
  }
});

describe('dialect details', () => {
  it('QwQ without implicitThinkOpen leaks the monologue', async () => {
    // The setting matters: without it the bare </think> form is ordinary text.
    const { proxy } = await setUp(qwqVllm, { implicitThinkOpen: false });
    const view = await ask(proxy, 'strip', 'json');
    expect(view.content).toBe(`${MONOLOGUE}\n</think>\n\n${ANSWER}`);
  });

  it('OpenRouter comments reach the client', async () => {
    const { proxy } = await setUp(openrouter);
    const response = await fetch(`${proxy.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: keeperAlias('strip'), stream: true, messages: [{ role: 'user', content: USER_QUESTION }] }),
    });
    const text = await response.text();
    expect(text.startsWith(': OPENROUTER PROCESSING\n\n')).toBe(true);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it.each(['json', 'stream'] as const)('OpenRouter strip drops reasoning_details, %s', async (transport) => {
    // reasoning_details repeats the reasoning text in a structured form, so strip mode
    // must remove it too, or the monologue reaches the client anyway.
    const { proxy } = await setUp(openrouter);
    const view = await ask(proxy, 'strip', transport);
    expect(view.content).toBe(ANSWER);
    expect([...view.keys]).not.toContain('reasoning_details');
  });
});
