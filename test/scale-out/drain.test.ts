/**
 * A replica that is shutting down behind a load balancer. A request that
 * arrives on a keep-alive connection that is still open gets 503 in OpenAI's
 * error shape, so clients and SDKs can read it. The request in flight on
 * that connection still completes.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { shutdown } from '../../src/runtime/shutdown.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { completion, sleep, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from './support.js';

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;
let socket: Socket | undefined;

afterEach(async () => {
  socket?.destroy();
  await proxy?.close();
  await upstream?.close();
  socket = undefined;
  proxy = undefined;
  upstream = undefined;
});

function chatRequest(port: number): string {
  const body = JSON.stringify({ model: 'keeper', messages: [{ role: 'user', content: 'When is the lamp lit?' }] });
  return [
    'POST /v1/chat/completions HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: keep-alive',
    '',
    body,
  ].join('\r\n');
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits the bytes read from one connection into HTTP/1.1 responses with Content-Length bodies. */
function parseResponses(text: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const headerEnd = rest.indexOf('\r\n\r\n');
    if (headerEnd < 0) break;
    const [statusLine, ...headerLines] = rest.slice(0, headerEnd).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const separator = line.indexOf(':');
      headers[line.slice(0, separator).trim().toLowerCase()] = line.slice(separator + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const bodyStart = headerEnd + 4;
    responses.push({ status: Number(statusLine?.split(' ')[1]), headers, body: rest.slice(bodyStart, bodyStart + length) });
    rest = rest.slice(bodyStart + length);
  }
  return responses;
}

describe('replica shutting down', () => {
  it('rejects new requests in OpenAI shape', async () => {
    upstream = await startUpstream(async (_request, response) => {
      await sleep(400);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(completion('At dusk.')));
    });
    proxy = await startProxy({
      config: { upstreams: { default: { baseUrl: upstream.baseUrl, retry: { maxRetries: 0 } } }, aliases: { keeper: { pack: 'keeper', model: 'm' } } },
      packs: { 'keeper.yaml': { name: 'keeper', preamble: 'You are Ada, the lighthouse keeper.' } },
    });
    const port = Number(new URL(proxy.url).port);

    let received = '';
    const connection = connect({ host: '127.0.0.1', port });
    socket = connection;
    connection.on('data', (data: Buffer) => (received += data.toString('utf8')));
    await new Promise<void>((resolve, reject) => {
      connection.once('connect', resolve);
      connection.once('error', reject);
    });

    // The first request is in flight when the shutdown starts, so the connection stays open.
    connection.write(chatRequest(port));
    await waitFor('the upstream to receive the first request', () => upstream!.requests.length === 1);
    // The shutdown that SIGTERM runs in src/main.ts.
    const stopped = shutdown({ app: proxy.app, state: proxy.state, graceMs: 5_000 });
    await sleep(50);
    connection.write(chatRequest(port));

    await waitFor('two responses on the connection', () => parseResponses(received).length === 2, { timeoutMs: 5_000 });
    await stopped;
    proxy = undefined;
    const [first, second] = parseResponses(received);
    expect(first?.status, 'the request in flight completes').toBe(200);
    expect(JSON.parse(first!.body).choices[0].message.content).toBe('At dusk.');
    expect(second?.status).toBe(503);
    expect(second?.headers.connection).toBe('close');
    const body = JSON.parse(second!.body) as { error?: Record<string, unknown> };
    expect(Object.keys(body), `body ${second?.body}`).toEqual(['error']);
    expect(Object.keys(body.error ?? {}).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(upstream.requests, 'the rejected request never reaches the upstream').toHaveLength(1);
  });
});
