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
  const error = new ProxyError(`Upstream "${client.name}" returned ${upstream.status}: ${quote(text) || '(empty body)'}`, {
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

  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw upstreamBadResponse(client.name, `the body is JSON but not a chat completion object: ${quote(text)}`);
  }
  if (context.stash !== undefined) await stashToolCallReasoning(context, parsed);
  const result = transformCompletion(parsed, {
    mode: context.thinking,
    implicitThinkOpen: context.route.implicitThinkOpen,
    emptyAnswerFallback: context.route.emptyAnswerFallback,
    responseModel: context.clientModel,
    // `parsed` was made from the upstream text above and is not used again, so no copy is needed.
    inPlace: true,
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

/** Keeps the reasoning of tool-call answers, which the client will not see, for the follow-up request. */
async function stashToolCallReasoning(context: RelayContext, body: unknown): Promise<void> {
  const choices = (body as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices)) return;
  for (const choice of choices) {
    const message = (choice as { message?: Record<string, unknown> } | null)?.message;
    if (message === undefined || message === null || !Array.isArray(message.tool_calls)) continue;
    const reasoning = typeof message.reasoning_content === 'string' ? message.reasoning_content : message.reasoning;
    if (typeof reasoning !== 'string' || reasoning === '') continue;
    const ids = message.tool_calls
      .map((call) => (call as { id?: unknown } | null)?.id)
      .filter((id): id is string => typeof id === 'string' && id !== '');
    try {
      await context.stash?.set(ids, reasoning);
    } catch (error) {
      context.request.log.warn({ err: error }, 'could not stash tool-call reasoning');
    }
  }
}
