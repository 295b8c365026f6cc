import type { FastifyRequest } from 'fastify';
import type { ContextConfig } from '../config/schema.js';
import { planBudget } from '../conversation/plan-budget.js';
import { buildRecapRequest, recapKey, recapMessage } from '../conversation/recap.js';
import { countTokens } from '../packs/count-tokens.js';
import type { RenderedPack } from '../packs/render-cache.js';
import { filterCompleteText } from '../thinking/filter.js';
import { buildUpstreamHeaders } from './headers.js';
import type { ProxySnapshot, ProxyState } from './proxy-state.js';
import { readBodyText } from './read-body.js';
import type { ModelRoute } from './resolve-model.js';

type Message = Record<string, unknown> & { role: string };

/** A recap request gets at most this long, whatever the upstream's own timeouts. */
const RECAP_TIMEOUT_MS = 120_000;

const packTokens = new WeakMap<RenderedPack, number>();

function tokensOfPack(pack: RenderedPack | undefined): number {
  if (pack === undefined) return 0;
  let tokens = packTokens.get(pack);
  if (tokens === undefined) {
    tokens = countTokens(pack.text);
    packTokens.set(pack, tokens);
  }
  return tokens;
}

export interface FitContextOptions {
  state: ProxyState;
  snapshot: ProxySnapshot;
  route: ModelRoute;
  request: FastifyRequest;
  messages: Message[];
  pack: RenderedPack | undefined;
  signal: AbortSignal;
  dropClientAuthorization: boolean;
}

export interface FittedContext {
  messages: Message[];
  droppedTurns: number;
}

/**
 * Shortens a conversation that would overflow the alias's context budget:
 * the oldest turns are dropped (trim) or replaced by a recap the model
 * writes (summarize). A failed recap falls back to trimming.
 */
export async function fitContext(options: FitContextOptions): Promise<FittedContext> {
  const context = options.route.context;
  if (context === undefined) return { messages: options.messages, droppedTurns: 0 };

  const counter = options.state.tokenCounter;
  const plan = planBudget({
    messages: options.messages,
    tokens: options.messages.map((message) => counter.count(message)),
    packTokens: tokensOfPack(options.pack),
    budgetTokens: context.budgetTokens,
    lowWaterRatio: context.lowWaterRatio,
    safetyMargin: context.safetyMargin,
  });
  if (plan.droppedTurns === 0) return { messages: options.messages, droppedTurns: 0 };

  const trimmed = [...plan.pinned, ...plan.kept];
  if (context.strategy === 'trim') return { messages: trimmed, droppedTurns: plan.droppedTurns };

  try {
    const recap = await cachedRecap(options, context, plan.dropped);
    return { messages: [recapMessage(recap, plan.droppedTurns), ...trimmed], droppedTurns: plan.droppedTurns };
  } catch (error) {
    if (options.signal.aborted) throw error;
    options.request.log.warn({ err: error, droppedTurns: plan.droppedTurns }, 'recap request failed; dropping the old turns without a recap');
    return { messages: trimmed, droppedTurns: plan.droppedTurns };
  }
}

const pendingRecaps = new Map<string, Promise<string>>();

/** Returns the recap of `dropped` from the store, or asks the upstream once, even for concurrent requests. */
async function cachedRecap(options: FitContextOptions, context: ContextConfig, dropped: Message[]): Promise<string> {
  const store = options.state.recapStore;
  const key = recapKey(dropped);
  const stored = await store.get(key);
  if (stored !== undefined) return stored;

  let pending = pendingRecaps.get(key);
  if (pending === undefined) {
    pending = requestRecap(options, context, dropped).then(async (recap) => {
      await store.set(key, recap);
      return recap;
    });
    pendingRecaps.set(key, pending);
    void pending.finally(() => pendingRecaps.delete(key)).catch(() => undefined);
  }
  return pending;
}

async function requestRecap(options: FitContextOptions, context: ContextConfig, dropped: Message[]): Promise<string> {
  const upstreamName = context.summarizer.upstream ?? options.route.upstreamName;
  const client = options.snapshot.upstreams.get(upstreamName);
  if (client === undefined) throw new Error(`summarizer upstream "${upstreamName}" is not configured`);

  const body = JSON.stringify({
    model: context.summarizer.model ?? options.route.upstreamModel,
    messages: buildRecapRequest(dropped, context.summarizer.maxTokens),
    max_tokens: context.summarizer.maxTokens,
    stream: false,
  });
  const headers = buildUpstreamHeaders(options.request.headers, {
    apiKey: client.apiKey,
    dropClientAuthorization: options.dropClientAuthorization,
  });
  const signal = AbortSignal.any([options.signal, AbortSignal.timeout(RECAP_TIMEOUT_MS)]);
  const response = await client.send({ headers, body, signal });
  const text = await readBodyText(response.body);
  if (response.status < 200 || response.status >= 300) {
    throw new Error(`summarizer upstream "${upstreamName}" answered ${response.status}`);
  }
  const parsed = JSON.parse(text) as { choices?: { message?: { content?: unknown }; finish_reason?: string | null }[] };
  const content = parsed.choices?.[0]?.message?.content;
  if (typeof content !== 'string') throw new Error(`summarizer upstream "${upstreamName}" sent no text`);
  const recap = filterCompleteText({ content, reasoning: null, finishReason: 'stop' }, { mode: 'strip' }).content.trim();
  if (recap === '') throw new Error(`summarizer upstream "${upstreamName}" sent an empty recap`);
  return recap;
}
