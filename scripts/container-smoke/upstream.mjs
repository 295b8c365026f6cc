// Scripted OpenAI-compatible upstream for scripts/container-smoke.sh.
//
// Usage: node upstream.mjs PORT_FILE REQUEST_LOG
// Listens on 127.0.0.1 on a free port and writes that port to PORT_FILE.
// POST /v1/chat/completions appends the request body to REQUEST_LOG as one
// JSON line and returns REPLY_TEXT, as an SSE stream when the body has
// "stream": true and as JSON otherwise. The server exits by itself after
// MAX_LIFETIME_MS in case the calling script dies without stopping it.
import { appendFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import process from 'node:process';
import { REPLY_TEXT } from './scripted-reply.mjs';

const MAX_LIFETIME_MS = 10 * 60 * 1000;
const [portFile, requestLog] = process.argv.slice(2);
if (!portFile || !requestLog) {
  console.error('usage: node upstream.mjs PORT_FILE REQUEST_LOG');
  process.exit(2);
}

/** Splits text into 4-character pieces, as a model streams tokens, so the fence arrives cut apart. */
function splitIntoPieces(text) {
  const result = [];
  for (let index = 0; index < text.length; index += 4) result.push(text.slice(index, index + 4));
  return result;
}

function sendError(response, status, message) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: null } }));
}

let requestCount = 0;
const server = createServer((request, response) => {
  if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
    sendError(response, 404, `scripted upstream: no route for ${request.method} ${request.url}`);
    return;
  }
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const text = chunks.map((chunk) => chunk.toString('utf8')).join('');
    let body;
    try {
      body = JSON.parse(text);
    } catch (error) {
      sendError(response, 400, `scripted upstream: the request body is not JSON: ${error.message}`);
      return;
    }
    appendFileSync(requestLog, `${JSON.stringify(body)}\n`);
    requestCount += 1;

    const base = { id: `chatcmpl-smoke-${requestCount}`, created: Math.floor(Date.now() / 1000), model: body.model };
    if (body.stream !== true) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          ...base,
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: REPLY_TEXT }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
        }),
      );
      return;
    }

    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    const event = (delta, finishReason) =>
      `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`;
    response.write(event({ role: 'assistant', content: '' }, null));
    for (const piece of splitIntoPieces(REPLY_TEXT)) response.write(event({ content: piece }, null));
    response.write(event({}, 'stop'));
    response.end('data: [DONE]\n\n');
  });
});

const lifetime = setTimeout(() => {
  console.error(`scripted upstream: exiting after the maximum lifetime of ${MAX_LIFETIME_MS} ms`);
  process.exit(1);
}, MAX_LIFETIME_MS);
lifetime.unref();

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  // A client that keeps its connection busy must not hold the exit up.
  setTimeout(() => process.exit(0), 2000).unref();
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  writeFileSync(portFile, `${port}\n`);
  console.log(`scripted upstream: listening on http://127.0.0.1:${port}/v1`);
});
