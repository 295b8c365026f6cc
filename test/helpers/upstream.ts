import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  /** Raw body bytes as text. */
  body: string;
  /** Parsed JSON body, or undefined when it is not JSON. */
  json: any;
}

export type UpstreamHandler = (request: RecordedRequest, response: ServerResponse) => void | Promise<void>;

export interface TestUpstream {
  /** Base URL for config, e.g. http://127.0.0.1:PORT/v1 */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Sockets currently open from the proxy. */
  openSockets: () => number;
  close: () => Promise<void>;
  server: Server;
}

/** Starts an HTTP upstream on 127.0.0.1 that records every request it gets. */
export async function startUpstream(handler: UpstreamHandler): Promise<TestUpstream> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const recorded: RecordedRequest = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body,
        json,
      };
      requests.push(recorded);
      Promise.resolve(handler(recorded, response)).catch((error: unknown) => {
        response.destroy(error as Error);
      });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    openSockets: () => sockets.size,
    server,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A handler that answers JSON with the given status and body. */
export function jsonAnswer(body: unknown, status = 200, headers: Record<string, string> = {}): UpstreamHandler {
  return (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
}

/** A handler that writes each chunk in its own socket write, waiting delaysMs[i] before chunk i. */
export function chunkedAnswer(
  chunks: (string | Buffer)[],
  options: { status?: number; headers?: Record<string, string>; delaysMs?: number[]; end?: 'close' | 'reset' } = {},
): UpstreamHandler {
  return async (_request, response) => {
    response.writeHead(options.status ?? 200, {
      'content-type': 'text/event-stream; charset=utf-8',
      ...options.headers,
    });
    response.flushHeaders();
    for (const [index, chunk] of chunks.entries()) {
      const delay = options.delaysMs?.[index] ?? 0;
      if (delay > 0) await sleep(delay);
      if (response.destroyed) return;
      response.write(chunk);
    }
    if (options.end === 'reset') {
      await sleep(20);
      response.socket?.destroy();
      return;
    }
    response.end();
  };
}

/** Builds an OpenAI chat.completion.chunk SSE event. */
export function sseChunk(
  delta: Record<string, unknown>,
  options: { finishReason?: string | null; model?: string; index?: number; usage?: unknown } = {},
): string {
  const chunk: Record<string, unknown> = {
    id: 'chatcmpl-test',
    object: 'chat.completion.chunk',
    created: 1764820000,
    model: options.model ?? 'upstream-model',
    choices: [{ index: options.index ?? 0, delta, finish_reason: options.finishReason ?? null }],
  };
  if (options.usage !== undefined) chunk.usage = options.usage;
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/** Builds an OpenAI chat.completion JSON answer. */
export function completion(content: string | null, extra: Record<string, unknown> = {}, model = 'upstream-model') {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion',
    created: 1764820000,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content, ...extra }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  };
}
