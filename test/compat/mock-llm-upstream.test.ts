/**
 * @dwmkerr/mock-llm 0.1.x as the upstream: an OpenAI-compatible mock written outside this
 * project, replying from JMESPath rules in JSON and in its own stream format (content cut
 * into fixed-size pieces, no usage, no `created`). The in-character rule matches only
 * when the pack's system message comes first and the model was replaced.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from '@dwmkerr/mock-llm/dist/server.js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { TestProxy } from '../helpers/proxy.js';
import { viewOfCompletion, viewOfStream, type ClientView } from './support/collect.js';
import {
  ANSWER,
  KEEPER_PREAMBLE,
  MONOLOGUE,
  OUT_OF_CHARACTER,
  THINKING_MODES,
  USER_QUESTION,
  keeperAlias,
  startKeeperProxy,
  type ThinkingMode,
} from './support/keeper.js';

const UPSTREAM_MODEL = 'qwen3:8b';
const THINK_ANSWER = `<think>\n${MONOLOGUE}\n</think>\n\n${ANSWER}`;

function completionTemplate(content: string): string {
  return JSON.stringify({
    id: 'chatcmpl-{{timestamp}}',
    object: 'chat.completion',
    model: '{{jmes request body.model}}',
    choices: [{ message: { role: 'assistant', content }, finish_reason: 'stop' }],
  });
}

const packFirst =
  `body.model == '${UPSTREAM_MODEL}' && body.messages[0].role == 'system' && ` +
  `starts_with(body.messages[0].content, '${KEEPER_PREAMBLE.split('\n')[0]!}')`;

const MOCK_CONFIG = {
  // Seven characters cut through `<think>` and `</think>`, which the filter must reassemble.
  streaming: { chunkSize: 7, chunkIntervalMs: 1 },
  rules: [
    // Rules are tried in order and the last match wins, so the catch-all goes first.
    { path: '/v1/chat/completions', method: 'POST', match: '@', response: { status: 200, content: completionTemplate(OUT_OF_CHARACTER) } },
    { path: '/v1/chat/completions', method: 'POST', match: packFirst, response: { status: 200, content: completionTemplate(THINK_ANSWER) } },
  ],
};

let mockServer: Server;
let mockBaseUrl: string;
let consoleLog: MockInstance;
let proxy: TestProxy | undefined;

beforeAll(async () => {
  // mock-llm logs every request with console.log.
  consoleLog = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const app = createServer(MOCK_CONFIG, '127.0.0.1', 0);
  mockServer = await new Promise<Server>((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
  mockBaseUrl = `http://127.0.0.1:${(mockServer.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  mockServer.closeAllConnections();
  await new Promise<void>((resolve) => mockServer.close(() => resolve()));
  consoleLog.mockRestore();
});

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

async function ask(mode: ThinkingMode, transport: 'json' | 'stream'): Promise<ClientView> {
  proxy = await startKeeperProxy(mockBaseUrl, { model: UPSTREAM_MODEL });
  const client = proxy.client();
  const request = { model: keeperAlias(mode), messages: [{ role: 'user' as const, content: USER_QUESTION }] };
  if (transport === 'json') return viewOfCompletion(await client.chat.completions.create(request));
  return viewOfStream(await client.chat.completions.create({ ...request, stream: true }));
}

describe('mock-llm upstream', () => {
  it('answers out of character without the pack', async () => {
    const response = await fetch(`${mockBaseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: UPSTREAM_MODEL, messages: [{ role: 'user', content: USER_QUESTION }] }),
    });
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe(OUT_OF_CHARACTER);
  });

  for (const mode of THINKING_MODES) {
    for (const transport of ['json', 'stream'] as const) {
      it(`${mode} mode, ${transport}`, async () => {
        const view = await ask(mode, transport);

        expect([...view.models]).toEqual([keeperAlias(mode)]);
        expect(view.finishReason).toBe('stop');
        if (mode === 'keep') {
          expect(view.content).toBe(THINK_ANSWER);
          expect(view.reasoning_content).toBeUndefined();
        } else {
          expect(view.content).toBe(ANSWER);
          expect(view.reasoning_content).toBe(mode === 'separate' ? MONOLOGUE : undefined);
        }
      });
    }
  }
});
