import { request } from 'node:http';
import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { sleep, sseChunk, startUpstream, type TestUpstream } from '../helpers/upstream.js';

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

/** Returns `copies` gzip members of `member` back to back, which gunzip decodes as one body. */
function repeatedGzip(member: Buffer, copies: number): Buffer {
  const compressedMember = gzipSync(member, { level: 9 });
  return Buffer.concat(Array.from({ length: copies }, () => compressedMember));
}

async function startGzipUpstream(body: Buffer, contentType: string): Promise<void> {
  upstream = await startUpstream((_request, response) => {
    response.writeHead(200, { 'content-type': contentType, 'content-encoding': 'gzip' });
    response.end(body);
  });
  proxy = await startProxy({
    config: {
      upstreams: { default: { baseUrl: upstream.baseUrl, apiKey: 'sk-upstream-SYNTH-3002', retry: { maxRetries: 0 } } },
      aliases: { packed: { model: 'packed-model', thinking: 'strip' } },
    },
  });
}

/** Sends a streaming request, reads nothing of the response for `holdMs`, then closes the connection. */
function holdStream(url: string, holdMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const payload = JSON.stringify({ model: 'packed', stream: true, messages: [{ role: 'user', content: 'go' }] });
    const target = new URL(url);
    const call = request({
      host: target.hostname,
      port: Number(target.port),
      path: '/v1/chat/completions',
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    });
    let status: number | undefined;
    call.on('response', (response) => {
      status = response.statusCode;
      response.pause();
    });
    call.on('error', () => undefined);
    setTimeout(() => {
      call.destroy();
      resolve(status);
    }, holdMs);
    call.end(payload);
  });
}

describe('gzip upstream body', () => {
  it('bounds buffering for an idle client', async () => {
    // About 128 MB of SSE once decoded, under 200 KB on the wire.
    const events = Buffer.from(sseChunk({ content: 'a'.repeat(4000) }).repeat(256));
    await startGzipUpstream(repeatedGzip(events, 128), 'text/event-stream');

    let clientResponse: ServerResponse | undefined;
    proxy!.app.server.on('request', (_request, response: ServerResponse) => {
      clientResponse = response;
    });
    let maxBuffered = 0;
    const sampler = setInterval(() => {
      if (clientResponse !== undefined && !clientResponse.destroyed) {
        maxBuffered = Math.max(maxBuffered, clientResponse.writableLength);
      }
    }, 10);
    const status = await holdStream(proxy!.url, 2000);
    clearInterval(sampler);

    expect(status).toBe(200);
    // Without gzip, the same measurement stayed near 0.1 MB in a manual run.
    expect(maxBuffered).toBeLessThan(8 * 1024 * 1024);
  });

  it('stops decoding a discarded body', async () => {
    // About 1 GB of zeros once decoded and about 1 MB on the wire. A streaming request that gets
    // JSON reads at most 1 MB of it, then discards the rest.
    await startGzipUpstream(repeatedGzip(Buffer.alloc(8 * 1024 * 1024), 128), 'application/json');
    const response = await fetch(`${proxy!.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'packed', stream: true, messages: [{ role: 'user', content: 'go' }] }),
    });
    expect(response.status).toBe(502);
    await response.text();

    const before = process.cpuUsage();
    await sleep(2000);
    const spent = process.cpuUsage(before);
    // Estimate: decoding the discarded rest took 1.7 to 2.5 s of CPU on the test machine, and should take none.
    expect((spent.user + spent.system) / 1000).toBeLessThan(700);
  });
});
