// Mock OpenAI-compatible upstream for bench/fault-load.mjs. The client picks a
// behaviour per request with the `x-fault` header, which the proxy forwards.
// It listens on 127.0.0.1 only and tracks its sockets and the responses still
// in progress, so the run can check that the proxy left nothing open.
import http from 'node:http';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long a stalled response waits before it ends by itself. It is longer than the run's settle time, so a leak shows. */
const STALL_MS = 30_000;

function completionBody(text) {
  return JSON.stringify({
    id: 'chatcmpl-mock',
    object: 'chat.completion',
    created: 1764820000,
    model: 'mock-model',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 },
  });
}

function chunk(delta, finishReason = null) {
  const body = {
    id: 'chatcmpl-mock',
    object: 'chat.completion.chunk',
    created: 1764820000,
    model: 'mock-model',
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
  return `data: ${JSON.stringify(body)}\n\n`;
}

function errorBody(message, code) {
  return JSON.stringify({ error: { message, type: 'server_error', param: null, code } });
}

/** Resolves after `ms`, or as soon as the response closes. */
function waitOrClose(response, ms) {
  return new Promise((resolve) => {
    if (response.destroyed) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      response.off('close', done);
      resolve();
    }
    response.on('close', done);
  });
}

async function stream(response, { count, gapMs, finish = true }) {
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  response.write(chunk({ role: 'assistant', content: '' }));
  for (let index = 0; index < count && !response.destroyed; index += 1) {
    response.write(chunk({ content: `片段${index} ` }));
    if (gapMs > 0) await sleep(gapMs);
  }
  if (response.destroyed || !finish) return;
  response.write(chunk({}, 'stop'));
  response.end('data: [DONE]\n\n');
}

let failureCount = 0;

/** Behaviours by `x-fault` value. Each one ends by itself within STALL_MS. */
const BEHAVIOURS = {
  'ok-json': async (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(completionBody('好的。'));
  },
  'ok-stream': (_request, response) => stream(response, { count: 6, gapMs: 5 }),
  'slow-stream': (_request, response) => stream(response, { count: 6, gapMs: 120 }),
  'stall-stream': async (_request, response) => {
    await stream(response, { count: 2, gapMs: 0, finish: false });
    await waitOrClose(response, STALL_MS);
    if (!response.destroyed) response.end();
  },
  'stall-headers': async (_request, response) => {
    await waitOrClose(response, STALL_MS);
    if (response.destroyed) return;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(completionBody('太晚了。'));
  },
  'status-5xx': async (_request, response) => {
    failureCount += 1;
    const status = failureCount % 2 === 0 ? 500 : 503;
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(errorBody(`mock failure ${status}`, 'mock_failure'));
  },
  'status-429': async (_request, response) => {
    response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
    response.end(errorBody('mock rate limit', 'mock_rate_limit'));
  },
  'reset-mid': async (_request, response) => {
    await stream(response, { count: 2, gapMs: 5, finish: false });
    await sleep(5);
    response.socket?.destroy();
  },
  'reset-before': async (request) => {
    request.socket.destroy();
  },
  garbage: async (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<html><body>502 Bad Gateway</body></html>');
  },
  'client-abort': (_request, response) => stream(response, { count: 200, gapMs: 50 }),
};

/**
 * Starts the mock on 127.0.0.1 with an ephemeral port. Idle keep-alive
 * sockets are closed after `keepAliveTimeoutMs`, so a settled proxy leaves
 * no socket open.
 */
export async function startMockUpstream({ keepAliveTimeoutMs = 1000 } = {}) {
  const sockets = new Set();
  const inProgress = new Set();
  const requestsByKind = new Map();
  let unknownKinds = 0;

  const server = http.createServer((request, response) => {
    const kind = String(request.headers['x-fault'] ?? 'ok-json');
    const behaviour = BEHAVIOURS[kind];
    requestsByKind.set(kind, (requestsByKind.get(kind) ?? 0) + 1);
    inProgress.add(response);
    response.on('close', () => inProgress.delete(response));
    request.resume();
    request.on('end', () => {
      if (behaviour === undefined) {
        unknownKinds += 1;
        response.writeHead(400, { 'content-type': 'application/json' });
        response.end(errorBody(`unknown x-fault ${kind}`, 'mock_unknown_fault'));
        return;
      }
      behaviour(request, response).catch(() => response.destroy());
    });
  });
  server.keepAliveTimeout = keepAliveTimeoutMs;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    openSockets: () => sockets.size,
    /** Bytes each open socket received; 0 means the proxy connected and never sent a request on it. */
    openSocketBytesRead: () => [...sockets].map((socket) => socket.bytesRead),
    /** Responses the mock started and that neither ended nor were closed by the proxy. */
    responsesInProgress: () => inProgress.size,
    requestsByKind: () => Object.fromEntries(requestsByKind),
    unknownKinds: () => unknownKinds,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
