import { ProxyError, upstreamBadResponse } from '../errors/proxy-error.js';
import { transformCompletion } from '../sse/completion-transform.js';
import type { RelayContext } from './chat-completions.js';
import { buildClientHeaders } from './headers.js';
import { quote, readBodyText } from './read-body.js';
import type { UpstreamClient } from './upstream-client.js';

async function readUpstreamText(context: RelayContext, client: UpstreamClient): Promise<string> {
  try {
    return await readBodyText(context.upstream.body);
  } catch (error) {
    throw client.describeError(error, 'while reading the response body');
  }
}

/**
 * Relays a non-2xx upstream answer with its status and headers. A JSON body
 * is passed on as it is; any other body is wrapped in OpenAI's error shape
 * so SDKs can still read the message.
 */
export function relayUpstreamError(context: RelayContext, client: UpstreamClient, text: string): void {
  const { upstream, reply } = context;
  if (upstream.status < 400) {
    throw upstreamBadResponse(client.name, `unexpected status ${upstream.status}: ${quote(text)}`);
  }

  reply.headers(buildClientHeaders(upstream.headers));
  reply.code(upstream.status);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed !== null && typeof parsed === 'object' && 'error' in parsed) {
    reply.header('content-type', 'application/json; charset=utf-8').send(text);
    return;
  }
  const error = new ProxyError(`Upstream "${client.name}" answered ${upstream.status}: ${quote(text) || '(empty body)'}`, {
    status: upstream.status,
    type: 'upstream_error',
    code: 'upstream_error',
  });
  reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(error.toBody()));
}

/** Relays a 2xx JSON answer after filtering its thinking. */
export async function relayJson(context: RelayContext, client: UpstreamClient): Promise<void> {
  const { reply, record } = context;
  const text = await readUpstreamText(context, client);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw upstreamBadResponse(client.name, `the body is not JSON: ${quote(text) || '(empty body)'}`);
  }

  const result = transformCompletion(parsed, {
    mode: context.thinking,
    implicitThinkOpen: context.route.implicitThinkOpen,
    emptyAnswerFallback: context.route.emptyAnswerFallback,
    responseModel: context.clientModel,
  });
  if (result.fallbackIndexes.length > 0) {
    record.fallbackUsed = true;
    context.request.log.warn(
      { choices: result.fallbackIndexes },
      'upstream sent reasoning but no content; the reasoning was sent as the answer',
    );
  }
  const usage = (parsed as { usage?: unknown }).usage;
  if (usage !== null && typeof usage === 'object') record.usage = usage;

  reply
    .code(context.upstream.status)
    .header('content-type', 'application/json; charset=utf-8')
    .send(JSON.stringify(result.body));
}
