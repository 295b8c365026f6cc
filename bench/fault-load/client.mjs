// One chat request through the proxy for bench/fault-load.mjs, classified by
// what the client saw. Outcomes are short strings such as `ok_stream`,
// `http_504:upstream_timeout` or `stream_error_event:upstream_stream_error`.
import http from 'node:http';
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';

/** True when `value` is exactly OpenAI's `{"error":{"message","type","param","code"}}`. */
export function isOpenAIError(value) {
  if (value === null || typeof value !== 'object' || Object.keys(value).join() !== 'error') return false;
  const error = value.error;
  if (error === null || typeof error !== 'object') return false;
  const keys = Object.keys(error).sort().join();
  return (
    keys === 'code,message,param,type' &&
    typeof error.message === 'string' &&
    typeof error.type === 'string' &&
    (error.param === null || typeof error.param === 'string') &&
    (error.code === null || typeof error.code === 'string')
  );
}

function sseEvents(text) {
  const events = [];
  for (const block of text.replace(/\r\n?/g, '\n').split('\n\n')) {
    const lines = block.split('\n').filter((line) => line.startsWith('data:'));
    if (lines.length > 0) events.push(lines.map((line) => line.slice(5).replace(/^ /, '')).join('\n'));
  }
  return events;
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Classifies a finished response. */
function classify(status, contentType, text) {
  if (status === 200 && contentType.includes('text/event-stream')) {
    const events = sseEvents(text);
    const last = events.at(-1);
    if (last === '[DONE]') return 'ok_stream';
    const parsed = last === undefined ? undefined : parseJson(last);
    if (isOpenAIError(parsed)) return `stream_error_event:${parsed.error.code}`;
    return 'stream_cut';
  }
  const parsed = parseJson(text);
  if (status === 200) return Array.isArray(parsed?.choices) ? 'ok_json' : 'bad_json_answer';
  if (!isOpenAIError(parsed)) return `bad_error_shape:${status}`;
  return `http_${status}:${parsed.error.code}`;
}

/**
 * Sends one request and resolves to `{ outcome, ms }`; never rejects.
 * `abortAfterFirstChunk` closes the connection after the first content
 * chunk, as a user who closes the tab.
 */
export function sendChat({ url, agent, fault, model, stream, abortAfterFirstChunk, timeoutMs }) {
  const body = Buffer.from(
    JSON.stringify({ model, stream, messages: [{ role: 'user', content: '讲一个关于灯塔的短故事。' }] }),
  );
  const startedAt = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ outcome, ms: performance.now() - startedAt });
    };
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': String(body.length), 'x-fault': fault },
      },
      (response) => {
        const chunks = [];
        response.on('data', (data) => {
          chunks.push(data);
          if (abortAfterFirstChunk && Buffer.concat(chunks).includes('片段0')) {
            request.destroy();
            finish('client_aborted');
          }
        });
        response.on('end', () => {
          finish(classify(response.statusCode ?? 0, String(response.headers['content-type'] ?? ''), Buffer.concat(chunks).toString('utf8')));
        });
        response.on('error', () => finish('connection_cut'));
        response.on('close', () => {
          if (!response.complete) finish('connection_cut');
        });
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      finish('client_timeout');
    }, timeoutMs);
    request.on('error', (error) => finish(`connection_error:${error.code ?? error.message}`));
    request.end(body);
  });
}
