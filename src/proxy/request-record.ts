import type { FastifyRequest } from 'fastify';
import type { PriceConfig } from '../config/schema.js';
import { ProxyError } from '../errors/proxy-error.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ModelRoute } from './resolve-model.js';

interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

/**
 * Key of the property that keeps a request's record on the request object. A WeakMap did the
 * same job, but its table grew to about 512 KB under load.
 */
const RECORD = Symbol('microtune.requestRecord');

type RecordedRequest = FastifyRequest & { [RECORD]?: RequestRecord };

/** Returns the record of a chat request, if the request was one. */
export function recordOf(request: FastifyRequest): RequestRecord | undefined {
  return (request as RecordedRequest)[RECORD];
}

/**
 * What one chat request did, written as a single info line when it ends.
 * It contains ids, names, numbers and statuses only, never message content.
 */
export class RequestRecord {
  private readonly request: FastifyRequest;
  private readonly startedAt = performance.now();
  private firstByteAt: number | undefined;
  private logged = false;
  alias: string | null = null;
  pack: string | undefined;
  upstream: string | undefined;
  model: string | undefined;
  stream = false;
  hijacked = false;
  upstreamStatus: number | undefined;
  usage: Usage | null = null;
  clientAborted = false;
  outcome: string | undefined;
  fallbackUsed = false;
  retries = 0;
  fallbackIndex = 0;
  droppedTurns = 0;
  variant: string | undefined;
  price: PriceConfig | undefined;
  error: unknown;
  private readonly metrics: Metrics | undefined;

  constructor(request: FastifyRequest, metrics?: Metrics) {
    this.request = request;
    this.metrics = metrics;
    (request as RecordedRequest)[RECORD] = this;
  }

  /** Returns the kind of upstream failure for metrics, or undefined when the upstream did its job. */
  private upstreamErrorKind(): string | undefined {
    if (this.outcome === 'upstream_failed') return 'stream_error';
    if (this.upstreamStatus !== undefined && this.upstreamStatus >= 400) return `status_${this.upstreamStatus}`;
    if (this.error instanceof ProxyError && this.error.code.startsWith('upstream_')) return this.error.code;
    return undefined;
  }

  private estimateCost(): { amount: number; currency: string } | undefined {
    const usage = this.usage;
    if (this.price === undefined || usage === null) return undefined;
    const amount =
      ((usage.prompt_tokens ?? 0) * this.price.inputPerMillion + (usage.completion_tokens ?? 0) * this.price.outputPerMillion) /
      1_000_000;
    return { amount, currency: this.price.currency };
  }

  setRoute(route: ModelRoute, stream: boolean): void {
    this.alias = route.alias;
    this.pack = route.packName;
    this.upstream = route.upstreamName;
    this.model = route.upstreamModel;
    this.stream = stream;
  }

  markFirstByte(): void {
    this.firstByteAt ??= performance.now();
  }

  log(status: number): void {
    if (this.logged) return;
    this.logged = true;
    const now = performance.now();
    const fields = {
      alias: this.alias,
      pack: this.pack,
      upstream: this.upstream,
      model: this.model,
      stream: this.stream,
      status,
      upstreamStatus: this.upstreamStatus,
      durationMs: Math.round(now - this.startedAt),
      ttfbMs: this.firstByteAt === undefined ? undefined : Math.round(this.firstByteAt - this.startedAt),
      tokensIn: this.usage?.prompt_tokens,
      tokensOut: this.usage?.completion_tokens,
      clientAborted: this.clientAborted || undefined,
      outcome: this.outcome,
      retries: this.retries || undefined,
      fallback: this.fallbackIndex || undefined,
      emptyAnswerFallback: this.fallbackUsed || undefined,
      droppedTurns: this.droppedTurns || undefined,
      variant: this.variant,
    };
    this.observe(status, now);
    if (status >= 500) this.request.log.error({ ...fields, err: this.error }, 'chat request failed');
    else this.request.log.info(fields, 'chat request completed');
  }

  private observe(status: number, now: number): void {
    if (this.metrics === undefined) return;
    const kind = this.upstreamErrorKind();
    if (kind !== undefined && this.upstream !== undefined) this.metrics.observeUpstreamError(this.upstream, kind);
    this.metrics.observeRequest({
      alias: this.alias,
      upstream: this.upstream,
      stream: this.stream,
      status,
      durationSeconds: (now - this.startedAt) / 1000,
      ttfbSeconds: this.firstByteAt === undefined ? undefined : (this.firstByteAt - this.startedAt) / 1000,
      tokensIn: this.usage?.prompt_tokens,
      tokensOut: this.usage?.completion_tokens,
      cost: this.estimateCost(),
      retries: this.retries,
      fallbackIndex: this.fallbackIndex,
      droppedTurns: this.droppedTurns,
      variant: this.variant,
    });
  }
}
