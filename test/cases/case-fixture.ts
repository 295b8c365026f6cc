/**
 * Loads the upstream replay cases in test/fixtures/cases. Each file pairs the
 * bytes an OpenAI-compatible upstream sent with what the client must receive
 * from the proxy. The types below describe the file format.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CASES_FOLDER = fileURLToPath(new URL('../fixtures/cases/', import.meta.url));

export type ThinkingMode = 'keep' | 'strip' | 'separate';

export interface UpstreamScript {
  status: number;
  headers?: Record<string, string>;
  /** One socket write per element. */
  chunks: string[];
  chunk_encoding?: 'utf8' | 'base64';
  text_preview?: string;
  split_note?: string;
  /** Milliseconds to wait before each write, same length as `chunks`. */
  delays_ms?: number[];
  /** Milliseconds to wait before sending the status line and headers. */
  headers_delay_ms?: number;
  /** `close` ends the body cleanly, and `reset` destroys the socket after the last chunk. */
  end?: 'close' | 'reset';
  /** Gzip the body when the proxy's request accepts gzip, flushing after each write. */
  gzip_if_accepted?: boolean;
}

export interface CaseExpectation {
  status?: number;
  content?: string;
  content_by_index?: Record<string, string>;
  reasoning?: string;
  done?: boolean;
  finish_reason?: string | null;
  usage?: unknown;
  tool_calls?: unknown[];
  /** Plain-words paths into the upstream request, for example `messages[0]` or `body bytes greater than`. */
  upstream_request?: Record<string, unknown>;
  upstream_aborted?: boolean;
  abort_within_ms?: number;
  error_visible?: { message_contains: string };
  notes?: string;
}

export interface ReplayCase {
  id: string;
  source: string;
  kind: 'stream' | 'json' | 'request';
  mode: ThinkingMode;
  config?: {
    system_prompt?: string;
    implicit_think_open?: boolean;
    model_aliases?: Record<string, string>;
  };
  request?: Record<string, unknown>;
  client?: { headers?: Record<string, string>; disconnect_after_content?: string };
  slow?: boolean;
  upstream: UpstreamScript;
  expect: CaseExpectation;
}

/** Reads every case file, sorted by file name, and checks that each id matches its file name. */
export function loadCases(folder = CASES_FOLDER): ReplayCase[] {
  const files = readdirSync(folder)
    .filter((name) => name.endsWith('.json'))
    .sort();
  return files.map((name) => {
    const parsed = JSON.parse(readFileSync(path.join(folder, name), 'utf8')) as ReplayCase;
    const expectedId = path.basename(name, '.json');
    if (parsed.id !== expectedId) {
      throw new Error(`${name}: id is "${parsed.id}" but must equal the file name "${expectedId}"`);
    }
    return parsed;
  });
}

/** Returns the bytes of each upstream write, decoding base64 chunks. */
export function upstreamChunkBytes(script: UpstreamScript): Buffer[] {
  const encoding = script.chunk_encoding ?? 'utf8';
  return script.chunks.map((chunk) => Buffer.from(chunk, encoding === 'base64' ? 'base64' : 'utf8'));
}

/** Returns the first `"model": "…"` value in the upstream body, the model the default request names. */
export function modelNamedInUpstream(script: UpstreamScript): string {
  const text = Buffer.concat(upstreamChunkBytes(script)).toString('utf8');
  const match = /"model"\s*:\s*"([^"]+)"/.exec(text);
  if (match?.[1] === undefined) {
    throw new Error('the upstream chunks name no model, so the default request has no model to send');
  }
  return match[1];
}

/** Replaces every `<<PAD:N>>` in the strings of a JSON value with N copies of the letter A. */
export function expandPadding(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.replace(/<<PAD:(\d+)>>/g, (_match, count: string) => 'A'.repeat(Number(count)));
  }
  if (Array.isArray(value)) return value.map(expandPadding);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expandPadding(item)]));
  }
  return value;
}

/** Returns the request body the client sends: the case's own, or the default request for its kind. */
export function clientRequestBody(replayCase: ReplayCase): Record<string, unknown> {
  if (replayCase.request !== undefined) {
    return expandPadding(replayCase.request) as Record<string, unknown>;
  }
  if (replayCase.kind === 'request') {
    throw new Error(`${replayCase.id}: a case of kind "request" must carry its own request`);
  }
  return {
    model: modelNamedInUpstream(replayCase.upstream),
    messages: [{ role: 'user', content: '你好' }],
    stream: replayCase.kind === 'stream',
  };
}

/** Returns the upstream model that the alias for `clientModel` must name. */
export function upstreamModelFor(replayCase: ReplayCase, clientModel: string): string {
  const aliases = replayCase.config?.model_aliases ?? {};
  return Object.hasOwn(aliases, clientModel) ? (aliases[clientModel] as string) : clientModel;
}

/** Returns the total of the upstream's scripted waits in milliseconds. */
export function scriptedDelayMs(script: UpstreamScript): number {
  const delays = script.delays_ms ?? [];
  return (script.headers_delay_ms ?? 0) + delays.reduce((sum, delay) => sum + delay, 0);
}
