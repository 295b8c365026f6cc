import type { FastifyReply, FastifyRequest } from 'fastify';
import { packUnavailable, ProxyError } from '../errors/proxy-error.js';
import type { Config } from '../config/load-config.js';
import type { ThinkingMode } from '../config/schema.js';
import { buildClientHeaders, buildUpstreamHeaders } from './headers.js';
import { reattachReasoning } from '../conversation/reattach-reasoning.js';
import type { ReasoningStash } from '../conversation/reasoning-stash.js';
import { applySystemPolicy } from '../conversation/system-policy.js';
import type { RenderedPack } from '../packs/render-cache.js';
import {
  buildUpstreamBody,
  chooseThinkingMode,
  parseChatRequest,
  THINKING_HEADER,
  type ChatRequest,
} from './chat-request.js';
import type { ProxySnapshot, ProxyState } from './proxy-state.js';
import { resolveModel, type ModelRoute } from './resolve-model.js';
import { relayJson, relayUpstreamError } from './relay-json.js';
import { relayStream } from './relay-stream.js';
import type { UpstreamResponse } from './upstream-client.js';
import { RequestRecord } from './request-record.js';
import { sendWithRetries, type UpstreamTarget } from './send-upstream.js';

/** Everything the relay steps need about one request. */
export interface RelayContext {
  request: FastifyRequest;
  reply: FastifyReply;
  route: ModelRoute;
  thinking: ThinkingMode;
  /** The model name the client sent; every response names it. */
  clientModel: string;
  upstream: UpstreamResponse;
  upstreamName: string;
  keepAliveCommentMs: number;
  abort: AbortController;
  record: RequestRecord;
  /** Where reasoning removed from tool-call answers is kept; undefined in keep mode. */
  stash: ReasoningStash | undefined;
}

export function createChatCompletionsHandler(state: ProxyState) {
  return async function handleChatCompletions(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const record = new RequestRecord(request, state.metrics);
    const abort = new AbortController();
    // The response closing before it ended means the client went away: stop
    // the upstream request at once so no tokens are paid for that nobody reads.
    reply.raw.on('close', () => {
      if (!reply.raw.writableEnded) {
        record.clientAborted = true;
        abort.abort(new Error('client disconnected'));
      }
    });

    state.inFlight.add(abort);
    try {
      await proxyChatCompletion(state, request, reply, record, abort);
    } catch (error) {
      record.error = error;
      throw error;
    } finally {
      state.inFlight.delete(abort);
      // A hijacked (streamed) reply skips Fastify's onResponse hook, which logs the others.
      if (record.hijacked) record.log(reply.raw.statusCode);
    }
  };
}

function aliasPrice(config: Config, alias: string | null) {
  return alias !== null && Object.hasOwn(config.aliases, alias) ? config.aliases[alias]?.price : undefined;
}

/** Returns the rendered pack of the route, or throws 503 naming why it is unavailable. */
function renderedPackOf(state: ProxyState, route: ModelRoute, clientModel: string): RenderedPack | undefined {
  if (route.packName === undefined) return undefined;
  const rendered = state.rendered(route.packName);
  if (rendered === undefined) {
    throw packUnavailable(route.alias ?? clientModel, route.packName, 'no pack file of that name exists');
  }
  if ('problem' in rendered) {
    throw packUnavailable(route.alias ?? clientModel, route.packName, `${rendered.file}: ${rendered.problem}`);
  }
  return rendered;
}

/** The messages the upstream gets after the system prefix, and that prefix as serialised JSON. */
interface PreparedMessages {
  prefixJson: string | undefined;
  messages: ChatRequest['messages'];
}

async function prepareMessages(
  state: ProxyState,
  route: ModelRoute,
  body: ChatRequest,
  pack: RenderedPack | undefined,
): Promise<PreparedMessages> {
  const { messages } = await reattachReasoning(body.messages, state.reasoningStash);
  const policy = applySystemPolicy(messages, route.systemMessages, pack?.text);
  if (policy.mergedSystem !== undefined) {
    return { prefixJson: JSON.stringify({ role: 'system', content: policy.mergedSystem }), messages: policy.messages };
  }
  return { prefixJson: pack?.messageJson, messages: policy.messages };
}

function resolveTargets(snapshot: ProxySnapshot, route: ModelRoute): UpstreamTarget[] {
  const wanted = [{ upstreamName: route.upstreamName, upstreamModel: route.upstreamModel }, ...route.fallbacks];
  return wanted.map((target) => {
    const client = snapshot.upstreams.get(target.upstreamName);
    if (client === undefined) {
      throw new ProxyError(`Upstream "${target.upstreamName}" is not configured.`, {
        status: 500,
        type: 'server_error',
        code: 'upstream_not_configured',
      });
    }
    return { client, model: target.upstreamModel };
  });
}

async function proxyChatCompletion(
  state: ProxyState,
  request: FastifyRequest,
  reply: FastifyReply,
  record: RequestRecord,
  abort: AbortController,
): Promise<void> {
  const snapshot = state.snapshot;
  const body = parseChatRequest(request.body);
  const route = resolveModel(body.model, snapshot.config);
  const thinking = chooseThinkingMode(route.thinking, request.headers[THINKING_HEADER], body);
  record.setRoute(route, body.stream === true);

  const pack = renderedPackOf(state, route, body.model);
  const prepared = await prepareMessages(state, route, body, pack);
  const targets = resolveTargets(snapshot, route);
  const proxyKeysOn = snapshot.config.auth.apiKeys.length > 0;
  const primary = targets[0]!.client;
  const signal =
    primary.timeouts.totalMs > 0
      ? AbortSignal.any([abort.signal, AbortSignal.timeout(primary.timeouts.totalMs)])
      : abort.signal;

  const sent = await sendWithRetries({
    targets,
    signal,
    log: request.log,
    build: (target) => ({
      body: buildUpstreamBody(body, target.model, prepared.prefixJson, prepared.messages),
      headers: buildUpstreamHeaders(request.headers, {
        apiKey: target.client.apiKey,
        // With proxy keys on, the client's Authorization carries a proxy key: never forward it.
        dropClientAuthorization: proxyKeysOn,
      }),
    }),
  });
  const upstream = sent.response;
  const client = sent.target.client;
  record.upstream = client.name;
  record.model = sent.target.model;
  record.retries = sent.retries;
  record.fallbackIndex = sent.fallbackIndex;
  record.upstreamStatus = upstream.status;
  record.price = aliasPrice(snapshot.config, route.alias) ?? snapshot.config.upstreams[client.name]?.price;
  record.markFirstByte();
  reply.header('x-microtune-upstream', client.name);

  const context: RelayContext = {
    request,
    reply,
    route,
    thinking,
    clientModel: body.model,
    upstream,
    upstreamName: client.name,
    keepAliveCommentMs: snapshot.config.server.keepAliveCommentMs,
    abort,
    record,
    stash: thinking === 'keep' ? undefined : state.reasoningStash,
  };

  if (sent.errorText !== undefined) {
    relayUpstreamError(context, client, sent.errorText);
    return;
  }
  reply.headers(buildClientHeaders(upstream.headers));
  if (body.stream === true) {
    await relayStream(context, client);
  } else {
    await relayJson(context, client);
  }
}
