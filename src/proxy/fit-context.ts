import type { FastifyRequest } from 'fastify';
import type { ContextConfig } from '../config/schema.js';
import { planBudget, type BudgetPlan } from '../conversation/plan-budget.js';
import { buildRecapRequest, recapKey, recapMessage } from '../conversation/recap.js';
import { countRenderedTokens } from '../packs/rendered-tokens.js';
import type { RenderedPack } from '../packs/render-cache.js';
import { filterCompleteText } from '../thinking/filter.js';
import { buildUpstreamHeaders } from './headers.js';
import type { ProxySnapshot, ProxyState } from './proxy-state.js';
import { readBodyText } from './read-body.js';
import type { AbortLike } from './request-abort.js';
import type { ModelRoute } from './resolve-model.js';

type Message = Record<string, unknown> & { role: string };

/** A recap request gets at most this long, whatever the upstream's own timeouts. */
const RECAP_TIMEOUT_MS = 120_000;

export interface FitContextOptions {
  state: ProxyState;
  snapshot: ProxySnapshot;
  route: ModelRoute;
  request: FastifyRequest;
  messages: Message[];
  pack: RenderedPack | undefined;
  signal: AbortLike;
  dropClientAuthorization: boolean;
}

export interface FittedContext {
  /** Pinned and kept messages, without the recap. */
  messages: Message[];
  /** Text of the recap system message that replaces the dropped turns, if any. */
  recap: string | undefined;
  droppedTurns: number;
}

/** Tokens kept free for the recap message around the recap text itself. */
const RECAP_FRAME_TOKENS = 40;

/**
 * Shortens a conversation that would overflow the alias's context budget:
 * the oldest turns are dropped (trim) or replaced by a recap the model
 * writes (summarize). A failed recap falls back to trimming.
 */
export async function fitContext(options: FitContextOptions): Promise<FittedContext> {
  const context = options.route.context;
  if (context === undefined) return { messages: options.messages, recap: undefined, droppedTurns: 0 };

  const counter = options.state.tokenCounter;
  const plan = planBudget({
    messages: options.messages,
    tokens: options.messages.map((message) => counter.count(message)),
    packTokens: options.pack === undefined ? 0 : countRenderedTokens(options.pack),
    budgetTokens: context.budgetTokens,
    lowWaterRatio: context.lowWaterRatio,
    safetyMargin: context.safetyMargin,
    reservedTokens: context.strategy === 'summarize' ? context.summarizer.maxTokens + RECAP_FRAME_TOKENS : 0,
  });
  if (plan.droppedTurns === 0) return { messages: options.messages, recap: undefined, droppedTurns: 0 };

  const trimmed = [...plan.pinned, ...plan.kept];
  if (context.strategy === 'trim') return { messages: trimmed, recap: undefined, droppedTurns: plan.droppedTurns };

  try {
    const recap = await cachedRecap(options, context, plan);
    return { messages: trimmed, recap: recapMessage(recap, plan.droppedTurns).content, droppedTurns: plan.droppedTurns };
  } catch (error) {
    if (options.signal.aborted) throw error;
    options.request.log.warn({ err: error, droppedTurns: plan.droppedTurns }, 'recap request failed; dropping the old turns without a recap');
    return { messages: trimmed, recap: undefined, droppedTurns: plan.droppedTurns };
  }
}

const pendingRecaps = new Map<string, Promise<string>>();

/** Resolves with `promise`, or rejects as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortLike): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

/**
 * Returns the recap of the dropped turns from the store, or requests it from the upstream
 * once, even for concurrent requests. The shared recap request does not follow
 * any one client's connection: a client that leaves stops waiting, and the
 * recap is still made and stored for the others and the next turn.
 */
async function cachedRecap(options: FitContextOptions, context: ContextConfig, plan: BudgetPlan): Promise<string> {
  const store = options.state.recapStore;
  const key = recapKey(plan.dropped);
  const stored = await store.get(key);
  if (stored !== undefined) return stored;

  let pending = pendingRecaps.get(key);
  if (pending === undefined) {
    pending = (async () => {
      // A recap of the earlier cut, when stored, replaces the turns it covers,
      // so a recap request stays small however long the chat grows.
      const earlier = plan.previousDroppedTurns > 0 ? await store.get(recapKey(plan.previouslyDropped)) : undefined;
      const span = earlier === undefined ? plan.dropped : plan.dropped.slice(plan.previouslyDropped.length);
      const recap = await requestRecap(options, context, span, earlier);
      await store.set(key, recap);
      return recap;
    })();
    pendingRecaps.set(key, pending);
    void pending.finally(() => pendingRecaps.delete(key)).catch(() => undefined);
  }
  return untilAborted(pending, options.signal);
}

async function requestRecap(
  options: FitContextOptions,
  context: ContextConfig,
  dropped: Message[],
  earlierRecap: string | undefined,
): Promise<string> {
  const upstreamName = context.summarizer.upstream ?? options.route.upstreamName;
  const client = options.snapshot.upstreams.get(upstreamName);
  if (client === undefined) throw new Error(`summarizer upstream "${upstreamName}" is not configured`);

  const body = JSON.stringify({
    model: context.summarizer.model ?? options.route.upstreamModel,
    messages: buildRecapRequest(dropped, context.summarizer.maxTokens, earlierRecap),
    max_tokens: context.summarizer.maxTokens,
    stream: false,
  });
  const headers = buildUpstreamHeaders(options.request.headers, {
    apiKey: client.apiKey,
    dropClientAuthorization: options.dropClientAuthorization,
  });
  const response = await client.send({ headers, body, signal: AbortSignal.timeout(RECAP_TIMEOUT_MS) });
  const text = await readBodyText(response.body);
  if (response.status < 200 || response.status >= 300) {
    throw new Error(`summarizer upstream "${upstreamName}" returned ${response.status}`);
  }
  const parsed = JSON.parse(text) as { choices?: { message?: { content?: unknown } }[] };
  const content = parsed.choices?.[0]?.message?.content;
  if (typeof content !== 'string') throw new Error(`summarizer upstream "${upstreamName}" sent no text`);
  const recap = filterCompleteText({ content, reasoning: null, finishReason: 'stop' }, { mode: 'strip' }).content.trim();
  if (recap === '') throw new Error(`summarizer upstream "${upstreamName}" sent an empty recap`);
  return recap;
}
