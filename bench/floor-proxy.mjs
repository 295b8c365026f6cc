#!/usr/bin/env node
// A minimal Fastify + undici proxy for the benchmark's request: it prepends the same
// ~2,000-token system message and forwards, with nothing else. It is a yardstick for
// microtune's CPU figures, not a product: no validation, no thinking filter, no model rewrite,
// no logging, no metrics, no error handling beyond dropping the connection.
//
//   UPSTREAM_URL=http://127.0.0.1:18080 PORT=8799 node bench/floor-proxy.mjs
//
// What it does per request, each step the cheapest this stack offers:
// - the JSON body is taken as bytes (no JSON.parse), and the pre-encoded system message is
//   spliced in after `"messages":[`;
// - the upstream call is undici's Agent#dispatch with a handler (no Readable body);
// - a non-stream response is sent with one res.end(); stream chunks from one socket read are
//   written together on the next tick, so the client gets one write per read.
// It listens on HOST (default 127.0.0.1) and stops on SIGINT or SIGTERM.
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { Agent } from 'undici';

const HOST = process.env.HOST ?? '127.0.0.1';
const PORT = Number(process.env.PORT ?? 8799);
const UPSTREAM = new URL((process.env.UPSTREAM_URL ?? 'http://127.0.0.1:18080').replace(/\/v1\/?$/, ''));
const PROMPT_FILE = process.env.SYSTEM_PROMPT_FILE ?? new URL('../../shared/bench/fixtures/system-prompt.zh.txt', import.meta.url);
const SYSTEM = Buffer.from(`${JSON.stringify({ role: 'system', content: readFileSync(PROMPT_FILE, 'utf8') })},`);
const MESSAGES_KEY = Buffer.from('"messages":[');

const agent = new Agent({ connections: null, pipelining: 1, keepAliveTimeout: 60_000 });
const app = Fastify({ logger: false, keepAliveTimeout: 120_000 });
app.removeAllContentTypeParsers();
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

app.post('/v1/chat/completions', (request, reply) => {
  const raw = request.body;
  const at = raw.indexOf(MESSAGES_KEY);
  if (at === -1) {
    reply.code(400).send('no messages');
    return;
  }
  const cut = at + MESSAGES_KEY.length;
  const body = Buffer.concat([raw.subarray(0, cut), SYSTEM, raw.subarray(cut)]);
  reply.hijack();
  const response = reply.raw;
  const headers = { 'content-type': 'application/json' };
  if (request.headers.authorization !== undefined) headers.authorization = request.headers.authorization;

  let streaming = false;
  let status = 200;
  let contentType = 'application/json';
  let pending = [];
  let queued = false;
  const flush = () => {
    queued = false;
    if (pending.length === 0) return;
    response.write(pending.length === 1 ? pending[0] : Buffer.concat(pending));
    pending = [];
  };
  agent.dispatch({ origin: UPSTREAM.origin, path: '/v1/chat/completions', method: 'POST', headers, body }, {
    onRequestStart() {},
    onResponseStart(_controller, statusCode, responseHeaders) {
      status = statusCode;
      contentType = String(responseHeaders['content-type'] ?? contentType);
      streaming = contentType.startsWith('text/event-stream');
      if (streaming) response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-cache' });
    },
    onResponseData(_controller, chunk) {
      pending.push(chunk);
      if (streaming && !queued) {
        queued = true;
        process.nextTick(flush);
      }
    },
    onResponseEnd() {
      if (streaming) {
        flush();
        response.end();
        return;
      }
      const answer = pending.length === 1 ? pending[0] : Buffer.concat(pending);
      response.writeHead(status, { 'content-type': contentType, 'content-length': answer.length });
      response.end(answer);
    },
    onResponseError(_controller, error) {
      response.destroy(error);
    },
  });
});

await app.listen({ host: HOST, port: PORT });
process.stdout.write(`floor-proxy listening on http://${HOST}:${PORT} -> ${UPSTREAM.origin}\n`);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    app.close().then(() => agent.close()).finally(() => process.exit(0));
  });
}
