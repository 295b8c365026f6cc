import type { IncomingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 section 7.6.1) and others a proxy must not copy. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Request headers dropped on the way upstream, besides hop-by-hop ones. */
const REQUEST_DROPPED = new Set(['host', 'content-length', 'accept-encoding', 'expect']);

/**
 * Response headers dropped on the way back: the body is rewritten and decoded,
 * so its length and encoding are the proxy's own.
 */
const RESPONSE_DROPPED = new Set(['content-length', 'content-encoding', 'date', 'server']);

type HeaderValue = string | string[] | undefined;

const NO_TOKENS: ReadonlySet<string> = new Set();

/** Names listed in a Connection header are hop-by-hop for that message too. */
function connectionTokens(value: HeaderValue): ReadonlySet<string> {
  if (value === undefined) return NO_TOKENS;
  const tokens = new Set<string>();
  const values = Array.isArray(value) ? value : [value];
  for (const item of values) {
    for (const token of item.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '') tokens.add(name);
    }
  }
  return tokens;
}

function copyHeaders(
  source: Record<string, HeaderValue>,
  dropped: ReadonlySet<string>,
  skip: (name: string) => boolean,
): Record<string, string | string[]> {
  const listed = connectionTokens(source.connection);
  const result: Record<string, string | string[]> = {};
  for (const rawName in source) {
    const value = source[rawName];
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    if (HOP_BY_HOP.has(name) || dropped.has(name) || listed.has(name) || skip(name)) continue;
    result[name] = value;
  }
  return result;
}

export interface UpstreamHeaderOptions {
  /** The upstream's own key; when set it replaces the client's Authorization. */
  apiKey?: string | undefined;
  /** Drop the client's Authorization even without an upstream key (proxy keys are on). */
  dropClientAuthorization?: boolean;
}

/** Headers for the upstream request, built from the client's. */
export function buildUpstreamHeaders(
  clientHeaders: IncomingHttpHeaders,
  options: UpstreamHeaderOptions,
): Record<string, string | string[]> {
  const headers = copyHeaders(clientHeaders, REQUEST_DROPPED, (name) => name.startsWith('x-microtune-'));
  const apiKey = options.apiKey !== undefined && options.apiKey !== '' ? options.apiKey : undefined;
  if (apiKey !== undefined) {
    headers.authorization = `Bearer ${apiKey}`;
    delete headers['api-key'];
    delete headers['x-api-key'];
  } else if (options.dropClientAuthorization === true) {
    delete headers.authorization;
    delete headers['api-key'];
    delete headers['x-api-key'];
  }
  headers['content-type'] = 'application/json';
  headers['accept-encoding'] = 'gzip, deflate, br';
  return headers;
}

/** Headers for the client response, built from the upstream's. */
export function buildClientHeaders(upstreamHeaders: Record<string, HeaderValue>): Record<string, string | string[]> {
  return copyHeaders(upstreamHeaders, RESPONSE_DROPPED, () => false);
}
