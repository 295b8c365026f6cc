import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** Label used for requests that matched no alias (passthrough and the ad-hoc form). */
export const NO_ALIAS = '(none)';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export interface RequestObservation {
  alias: string | null;
  upstream: string | undefined;
  stream: boolean;
  status: number;
  durationSeconds: number;
  ttfbSeconds: number | undefined;
  tokensIn: number | undefined;
  tokensOut: number | undefined;
  cost: { amount: number; currency: string } | undefined;
  retries: number;
  fallbackIndex: number;
  droppedTurns: number;
  variant: string | undefined;
}

/**
 * Prometheus metrics of one server. Labels contain alias, upstream and
 * variant names, statuses and kinds only, never message content or keys.
 * Requests without an alias share one label value, so clients cannot grow
 * the label set.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'alias' | 'status' | 'stream'>;
  private readonly duration: Histogram<'alias' | 'stream'>;
  private readonly ttfb: Histogram<'alias' | 'stream'>;
  private readonly upstreamErrors: Counter<'upstream' | 'kind'>;
  private readonly retries: Counter<'upstream'>;
  private readonly fallbacks: Counter<'alias' | 'upstream'>;
  private readonly tokens: Counter<'alias' | 'direction'>;
  private readonly cost: Counter<'alias' | 'currency'>;
  private readonly reloads: Counter<'result'>;
  private readonly packRejections: Counter<'pack'>;
  private readonly droppedTurns: Counter<'alias'>;
  private readonly variantRequests: Counter<'alias' | 'variant' | 'status'>;
  private readonly variantTokens: Counter<'alias' | 'variant' | 'direction'>;
  private readonly redisFallbacks: Counter<'operation'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'microtune_' });
    this.requests = new Counter({ name: 'microtune_requests_total', help: 'Chat completion requests by alias, HTTP status and stream or not.', labelNames: ['alias', 'status', 'stream'], registers });
    this.duration = new Histogram({ name: 'microtune_request_duration_seconds', help: 'Time from request to the end of the response.', labelNames: ['alias', 'stream'], buckets: LATENCY_BUCKETS, registers });
    this.ttfb = new Histogram({ name: 'microtune_time_to_first_byte_seconds', help: 'Time from request to the upstream response headers.', labelNames: ['alias', 'stream'], buckets: LATENCY_BUCKETS, registers });
    this.upstreamErrors = new Counter({ name: 'microtune_upstream_errors_total', help: 'Upstream failures by kind: status class, timeout, unreachable, stream error.', labelNames: ['upstream', 'kind'], registers });
    this.retries = new Counter({ name: 'microtune_upstream_retries_total', help: 'Retried upstream calls.', labelNames: ['upstream'], registers });
    this.fallbacks = new Counter({ name: 'microtune_fallbacks_total', help: 'Requests served by a fallback upstream or model.', labelNames: ['alias', 'upstream'], registers });
    this.tokens = new Counter({ name: 'microtune_tokens_total', help: 'Tokens reported in upstream usage, in (prompt) and out (completion).', labelNames: ['alias', 'direction'], registers });
    this.cost = new Counter({ name: 'microtune_estimated_cost_total', help: 'Estimated cost from upstream usage and configured prices.', labelNames: ['alias', 'currency'], registers });
    this.reloads = new Counter({ name: 'microtune_reloads_total', help: 'Config and pack reloads by result: applied, unchanged, rejected.', labelNames: ['result'], registers });
    this.packRejections = new Counter({ name: 'microtune_pack_rejections_total', help: 'Pack files rejected at load or reload.', labelNames: ['pack'], registers });
    this.droppedTurns = new Counter({ name: 'microtune_dropped_turns_total', help: 'Conversation turns dropped or summarised to fit the context budget.', labelNames: ['alias'], registers });
    this.variantRequests = new Counter({ name: 'microtune_variant_requests_total', help: 'Requests by pack variant of an experiment.', labelNames: ['alias', 'variant', 'status'], registers });
    this.redisFallbacks = new Counter({ name: 'microtune_redis_fallbacks_total', help: 'Operations that used local state because Redis was unavailable.', labelNames: ['operation'], registers });
    this.variantTokens = new Counter({ name: 'microtune_variant_tokens_total', help: 'Tokens by pack variant of an experiment.', labelNames: ['alias', 'variant', 'direction'], registers });
  }

  observeRequest(observation: RequestObservation): void {
    const alias = observation.alias ?? NO_ALIAS;
    const stream = String(observation.stream);
    this.requests.inc({ alias, status: String(observation.status), stream });
    this.duration.observe({ alias, stream }, observation.durationSeconds);
    if (observation.ttfbSeconds !== undefined) this.ttfb.observe({ alias, stream }, observation.ttfbSeconds);
    if (observation.tokensIn !== undefined) this.tokens.inc({ alias, direction: 'in' }, observation.tokensIn);
    if (observation.tokensOut !== undefined) this.tokens.inc({ alias, direction: 'out' }, observation.tokensOut);
    if (observation.cost !== undefined) this.cost.inc({ alias, currency: observation.cost.currency }, observation.cost.amount);
    if (observation.upstream !== undefined && observation.retries > 0) {
      this.retries.inc({ upstream: observation.upstream }, observation.retries);
    }
    if (observation.upstream !== undefined && observation.fallbackIndex > 0) {
      this.fallbacks.inc({ alias, upstream: observation.upstream });
    }
    if (observation.droppedTurns > 0) this.droppedTurns.inc({ alias }, observation.droppedTurns);
    if (observation.variant !== undefined) {
      const variant = observation.variant;
      this.variantRequests.inc({ alias, variant, status: String(observation.status) });
      if (observation.tokensIn !== undefined) this.variantTokens.inc({ alias, variant, direction: 'in' }, observation.tokensIn);
      if (observation.tokensOut !== undefined) this.variantTokens.inc({ alias, variant, direction: 'out' }, observation.tokensOut);
    }
  }

  observeUpstreamError(upstream: string, kind: string): void {
    this.upstreamErrors.inc({ upstream, kind });
  }

  observeReload(result: string): void {
    this.reloads.inc({ result });
  }

  observeRedisFallback(operation: string): void {
    this.redisFallbacks.inc({ operation });
  }

  observePackRejection(pack: string): void {
    this.packRejections.inc({ pack });
  }
}
