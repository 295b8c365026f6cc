import type { FastifyReply, FastifyRequest } from 'fastify';
import { clientClosedRequest, packUnavailable, ProxyError } from '../errors/proxy-error.js';
import type { Config } from '../config/load-config.js';
import type { ThinkingMode } from '../config/schema.js';
import { buildClientHeaders, buildUpstreamHeaders } from './headers.js';
import { reattachReasoning } from '../conversation/reattach-reasoning.js';
import type { ReasoningStash } from '../conversation/reasoning-stash.js';
import { applySystemPolicy, rejectSystemMessages } from '../conversation/system-policy.js';
import { chooseVariant, conversationKey, CONVERSATION_HEADER } from '../conversation/choose-variant.js';
import { fitContext, type FitContextOptions } from './fit-context.js';
import type { RenderedPack } from '../packs/render-cache.js';
import {
  buildUpstreamBody,
  chooseThinkingMode,
  parseChatRequest,
  readUserName,
  THINKING_HEADER,
  USER_NAME_HEADER,
  type ChatRequest,
} from './chat-request.js';
import type { ProxySnapshot, ProxyState } from './proxy-state.js';
import { resolveModel, type ModelRoute } from './resolve-model.js';
import { relayJson, relayUpstreamError } from './relay-json.js';
import { relayStream } from './relay-stream.js';
import type { UpstreamResponse } from './upstream-client.js';
import { RequestAbort } from './request-abort.js';
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
  abort: RequestAbort;
  record: RequestRecord;
  /** Where the reasoning of tool-call answers is kept for the follow-up request. */
  stash: ReasoningStash | undefined;
}

export function createChatCompletionsHandler(state: ProxyState) {
  return async function handleChatCompletions(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const record = new RequestRecord(request, state.metrics);
    const abort = new RequestAbort();
    // The response closing before it ended means the client went away: stop
    // the upstream request at once so no tokens are paid for that nobody reads.
    reply.raw.on('close', () => {
      if (!reply.raw.writableEnded) {
        record.clientAborted = true;
        abort.abort(new Error('client disconnected'));
      }
    });

    state.inFlight.add(abort);
    const snapshot = state.acquire();
    try {
      await proxyChatCompletion(state, snapshot, request, reply, record, abort);
    } catch (error) {
      // Whatever failed after the client left, the answer had nobody to go to.
      const failure = record.clientAborted ? clientClosedRequest() : error;
      record.error = failure;
      throw failure;
    } finally {
      abort.dispose();
      state.release(snapshot);
      state.inFlight.delete(abort);
      // A hijacked (streamed) reply skips Fastify's onResponse hook, which logs the others;
      // so may a reply whose client already left.
      if (record.hijacked) record.log(reply.raw.statusCode);
      else if (record.clientAborted) record.log(499);
    }
  };
}

function aliasPrice(config: Config, alias: string | null) {
  return alias !== null && Object.hasOwn(config.aliases, alias) ? config.aliases[alias]?.price : undefined;
}

/** Picks the pack: the alias's own, or for an experiment the variant this conversation sticks to. */
function choosePackName(route: ModelRoute, request: FastifyRequest, body: ChatRequest): { packName: string | undefined; variant: string | undefined } {
  if (route.variants === undefined) return { packName: route.packName, variant: undefined };
  const key = conversationKey(request.headers[CONVERSATION_HEADER], body.messages);
  const variant = chooseVariant(route.variants, key);
  return { packName: variant.pack, variant: variant.pack };
}

/** Returns the rendered pack, or throws 503 naming why it is unavailable. */
function renderedPackOf(
  state: ProxyState,
  snapshot: ProxySnapshot,
  packName: string | undefined,
  label: string,
  userName: string | undefined,
): RenderedPack | undefined {
  if (packName === undefined) return undefined;
  const rendered = state.rendered(packName, { user: userName }, snapshot);
  if (rendered === undefined) {
    throw packUnavailable(label, packName, 'no pack file of that name exists');
  }
  if ('problem' in rendered) {
    throw packUnavailable(label, packName, `${rendered.file}: ${rendered.problem}`);
  }
  return rendered;
}

/** Each rendered pack's system message as UTF-8, encoded on first use and dropped with the pack. */
const encodedMessages = new WeakMap<RenderedPack, Buffer>();

function messageBytes(pack: RenderedPack): Buffer {
  let bytes = encodedMessages.get(pack);
  if (bytes === undefined) {
    bytes = Buffer.from(pack.messageJson, 'utf8');
    encodedMessages.set(pack, bytes);
  }
  return bytes;
}

/** The messages the upstream gets after the system prefix, and that prefix as serialised JSON. */
interface PreparedMessages {
  /** A merged system message as JSON text, or the pack's message as UTF-8 bytes. */
  prefix: string | Buffer | undefined;
  messages: ChatRequest['messages'];
  droppedTurns: number;
}

async function prepareMessages(
  options: Omit<FitContextOptions, 'messages'> & { body: ChatRequest },
): Promise<PreparedMessages> {
  const { state, route, pack, body } = options;
  const { messages: withReasoning } = await reattachReasoning(body.messages, state.reasoningStash);
  // Rejection looks at the client's messages only, before the proxy adds a recap of its own.
  if (route.systemMessages === 'reject') rejectSystemMessages(withReasoning);
  const fitted = await fitContext({ ...options, messages: withReasoning });
  const policy = applySystemPolicy(fitted.messages, route.systemMessages, pack?.text, fitted.recap);
  if (policy.mergedSystem !== undefined) {
    return {
      prefix: JSON.stringify({ role: 'system', content: policy.mergedSystem }),
      messages: policy.messages,
      droppedTurns: fitted.droppedTurns,
    };
  }
  return { prefix: pack === undefined ? undefined : messageBytes(pack), messages: policy.messages, droppedTurns: fitted.droppedTurns };
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
  snapshot: ProxySnapshot,
  request: FastifyRequest,
  reply: FastifyReply,
  record: RequestRecord,
  abort: RequestAbort,
): Promise<void> {
  const body = parseChatRequest(request.body);
  const route = resolveModel(body.model, snapshot.config);
  const thinking = chooseThinkingMode(route.thinking, request.headers[THINKING_HEADER], body);
  record.setRoute(route, body.stream === true);

  const { packName, variant } = choosePackName(route, request, body);
  if (variant !== undefined) {
    record.pack = packName;
    record.variant = variant;
    reply.header('x-microtune-variant', variant);
  }
  const pack = renderedPackOf(state, snapshot, packName, route.alias ?? body.model, readUserName(request.headers[USER_NAME_HEADER]));
  const targets = resolveTargets(snapshot, route);
  const proxyKeysOn = snapshot.config.auth.apiKeys.length > 0;
  const primary = targets[0]!.client;
  if (primary.timeouts.totalMs > 0) abort.abortAfter(primary.timeouts.totalMs);
  const signal = abort;
  const prepared = await prepareMessages({
    state,
    snapshot,
    route,
    request,
    body,
    pack,
    signal,
    dropClientAuthorization: proxyKeysOn,
  });
  if (route.context !== undefined) {
    record.droppedTurns = prepared.droppedTurns;
    reply.header('x-microtune-dropped-turns', String(prepared.droppedTurns));
  }

  const sent = await sendWithRetries({
    targets,
    signal,
    log: request.log,
    build: (target) => ({
      body: buildUpstreamBody(body, target.model, prepared.prefix, prepared.messages),
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
    // Stashed in keep mode too: some clients (the openai SDK's stream helper) drop reasoning_content.
    stash: state.reasoningStash,
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
