/**
 * A mock OpenAI-compatible upstream on 127.0.0.1 that responds to every
 * request by replaying one case's script byte for byte, one socket write per chunk,
 * and records what the proxy sent and when the proxy closed the connection.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGzip, type Gzip } from 'node:zlib';
import { upstreamChunkBytes, type UpstreamScript } from './case-fixture.js';

export interface ReplayedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
  receivedAt: number;
  /** performance.now() just before each chunk was written. */
  writeTimes: number[];
  /** True when the body was sent gzip-compressed. */
  gzipped: boolean;
  /** Set when every chunk was written and the body ended or the socket was reset on purpose. */
  finishedAt: number | undefined;
  /** Set when the proxy's socket closed. */
  socketClosedAt: number | undefined;
  /** True when the socket closed before the script had written every chunk. */
  closedEarly: boolean;
}

export interface ReplayUpstream {
  /** Base URL for the proxy config, e.g. http://127.0.0.1:PORT/v1 */
  baseUrl: string;
  requests: ReplayedRequest[];
  close: () => Promise<void>;
}

/** Writes one piece and resolves when the socket has taken it, or the response has closed. */
function writeOnce(target: ServerResponse | Gzip, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    target.write(bytes, () => resolve());
  });
}

function flushGzip(gzip: Gzip): Promise<void> {
  return new Promise((resolve) => gzip.flush(() => resolve()));
}

function acceptsGzip(headers: IncomingHttpHeaders): boolean {
  const value = headers['accept-encoding'];
  return typeof value === 'string' && /\bgzip\b/i.test(value);
}

async function replay(script: UpstreamScript, record: ReplayedRequest, response: ServerResponse): Promise<void> {
  const chunks = upstreamChunkBytes(script);
  const closed = () => response.destroyed || record.socketClosedAt !== undefined;

  if ((script.headers_delay_ms ?? 0) > 0) await sleep(script.headers_delay_ms);
  if (closed()) return;

  const headers: Record<string, string> = { ...script.headers };
  const gzip = script.gzip_if_accepted === true && acceptsGzip(record.headers) ? createGzip() : undefined;
  if (gzip !== undefined) {
    headers['content-encoding'] = 'gzip';
    gzip.pipe(response);
    record.gzipped = true;
  }
  response.writeHead(script.status, headers);
  response.flushHeaders();

  for (const [index, chunk] of chunks.entries()) {
    const delay = script.delays_ms?.[index] ?? 0;
    if (delay > 0) await sleep(delay);
    if (closed()) return;
    record.writeTimes.push(performance.now());
    if (gzip !== undefined) {
      gzip.write(chunk);
      await flushGzip(gzip);
    } else {
      await writeOnce(response, chunk);
    }
    // Yield one event-loop turn so the proxy, which runs in this process, can read this write
    // before the next one. TCP may still merge writes.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (closed()) return;

  if (script.end === 'reset') {
    record.finishedAt = performance.now();
    response.socket?.destroy();
    return;
  }
  if (gzip !== undefined) gzip.end();
  else response.end();
  record.finishedAt = performance.now();
}

/** Starts the mock upstream on 127.0.0.1 with a port the OS picks. */
export async function startReplayUpstream(script: UpstreamScript): Promise<ReplayUpstream> {
  const requests: ReplayedRequest[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((request, response) => {
    const record: ReplayedRequest = {
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
      body: Buffer.alloc(0),
      json: undefined,
      receivedAt: performance.now(),
      writeTimes: [],
      gzipped: false,
      finishedAt: undefined,
      socketClosedAt: undefined,
      closedEarly: false,
    };
    requests.push(record);
    request.socket.once('close', () => {
      record.socketClosedAt = performance.now();
      record.closedEarly = record.finishedAt === undefined;
    });

    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => {
      record.body = Buffer.concat(parts);
      try {
        record.json = JSON.parse(record.body.toString('utf8'));
      } catch {
        record.json = undefined;
      }
      replay(script, record, response).catch((error: unknown) => {
        response.destroy(error instanceof Error ? error : new Error(String(error)));
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
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
