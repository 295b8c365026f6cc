import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { sseChunk, startUpstream, type TestUpstream } from '../helpers/upstream.js';

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

const EVENTS = 16000;
/** About 1 KB of text per event, so the whole stream (about 16 MB) is far larger than the loopback socket buffers. */
const PIECE = '长'.repeat(340);

/** Sends a raw streaming request and reads nothing until `holdMs` has passed, then reads to the end. */
function slowReader(url: URL, body: string, holdMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const parts: Buffer[] = [];
    socket.on('connect', () => {
      socket.write(
        `POST /v1/chat/completions HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
      socket.pause();
      setTimeout(() => socket.resume(), holdMs);
    });
    socket.on('data', (chunk: Buffer) => parts.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(parts)));
    socket.on('error', reject);
  });
}

/** Decodes an HTTP/1.1 chunked body. */
function dechunk(raw: Buffer): string {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at);
    const size = Number.parseInt(raw.subarray(at, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts).toString('utf8');
}

describe('stream back-pressure', () => {
  it('stops reading the upstream while the client does not read, and loses nothing', async () => {
    let sawFullBuffer = false;
    let writtenWhileHeld = 0;
    let holdEnds = Number.POSITIVE_INFINITY;
    upstream = await startUpstream(async (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < EVENTS; i++) {
        const frame = sseChunk({ content: `${i}:${PIECE}|` });
        if (Date.now() < holdEnds) writtenWhileHeld += 1;
        if (!response.write(frame)) {
          sawFullBuffer = true;
          await new Promise((resolve) => response.once('drain', resolve));
        }
      }
      response.write(sseChunk({}, { finishReason: 'stop' }));
      response.end('data: [DONE]\n\n');
    });
    proxy = await startProxy({
      config: {
        upstreams: { default: { baseUrl: upstream.baseUrl, apiKey: 'sk-upstream-SYNTH-3001', retry: { maxRetries: 0 } } },
        aliases: { bulk: { model: 'bulk-model', thinking: 'strip' } },
      },
    });

    const holdMs = 600;
    holdEnds = Date.now() + holdMs;
    const raw = await slowReader(new URL(proxy.url), JSON.stringify({ model: 'bulk', stream: true, messages: [{ role: 'user', content: '写长一点' }] }), holdMs);

    // The upstream had to wait: the proxy stopped reading it while the client read nothing.
    expect(sawFullBuffer).toBe(true);
    expect(writtenWhileHeld).toBeLessThan(EVENTS);

    const head = raw.indexOf('\r\n\r\n');
    expect(raw.subarray(0, head).toString('latin1')).toMatch(/^HTTP\/1\.1 200[\s\S]*transfer-encoding: chunked/i);
    const body = dechunk(raw.subarray(head + 4));
    const contents = [...body.matchAll(/"content":"(\d+):/g)].map((match) => Number(match[1]));
    expect(contents).toHaveLength(EVENTS);
    expect(contents.every((value, index) => value === index)).toBe(true);
    expect(body).toContain('"finish_reason":"stop"');
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });
});
