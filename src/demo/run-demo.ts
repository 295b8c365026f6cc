import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { loadConfig } from '../config/load-config.js';
import { createLogger } from '../logger.js';
import { loadPackSet } from '../packs/load-packs.js';
import { ProxyState } from '../proxy/proxy-state.js';
import { buildServer } from '../server.js';
import { SCRIPTED_TEXT, startScriptedUpstream } from './scripted-upstream.js';

export const DEMO_ALIAS = 'intern-doctor';
const DEMO_QUESTION = '（我是 12 床的病人）医生，你看起来好年轻，今晚是你第一次值夜班吗？';
const PREVIEW_LINES = 8;

/**
 * Runs the offline demo: the shipped config and packs, a scripted upstream
 * on 127.0.0.1, and the official openai SDK as the client. Writes what the
 * upstream received and what the client got through `print`.
 */
export async function runDemo(options: { configFile?: string; print?: (line: string) => void } = {}): Promise<void> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const upstream = await startScriptedUpstream();
  const config = loadConfig(options.configFile ?? 'config/microtune.yaml', {
    ...process.env,
    UPSTREAM_BASE_URL: upstream.baseUrl,
    UPSTREAM_API_KEY: '',
    UPSTREAM_MODEL: 'scripted-demo-model',
  });
  const state = new ProxyState(config, loadPackSet(config.packsPath));
  const app = await buildServer({ state, logger: createLogger({ level: 'warn' }) });

  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'demo-key', maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: DEMO_QUESTION }];

    print(`microtune demo: proxy on http://127.0.0.1:${port}/v1, scripted upstream on ${upstream.baseUrl}`);
    print(`client -> model "${DEMO_ALIAS}": ${DEMO_QUESTION}`);

    const answer = await client.chat.completions.create({ model: DEMO_ALIAS, messages });
    const received = upstream.requests[0];
    const system = received?.messages[0];
    const systemText = typeof system?.content === 'string' ? system.content : '';
    print('');
    print(`== What the upstream received (model "${received?.model}", ${received?.messages.length} messages)`);
    const lines = systemText.split('\n');
    print(`messages[0] (${system?.role}, the rendered pack: ${systemText.length} characters, ${lines.length} lines), first and last ${PREVIEW_LINES} lines:`);
    for (const line of lines.slice(0, PREVIEW_LINES)) print(`  | ${line}`);
    print('  | ...');
    for (const line of lines.slice(-PREVIEW_LINES)) print(`  | ${line}`);
    print(`messages[1] (${received?.messages[1]?.role}): ${String(received?.messages[1]?.content)}`);

    print('');
    print('== What the upstream answered (the model writes its monologue first)');
    for (const line of SCRIPTED_TEXT.split('\n')) print(`  | ${line}`);

    print('');
    print('== What the client got (JSON, thinking stripped)');
    print(`model: ${answer.model}`);
    print(`content: ${answer.choices[0]?.message.content ?? ''}`);

    const stream = await client.chat.completions.create({ model: DEMO_ALIAS, messages, stream: true });
    let streamed = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      streamed += chunk.choices[0]?.delta.content ?? '';
    }
    print('');
    print(`== What the client got (stream, ${chunks} chunks, thinking stripped)`);
    print(`content: ${streamed}`);
  } finally {
    await app.close();
    await state.destroy();
    await upstream.close();
  }
}
