import type { FastifyRequest } from 'fastify';
import type { ModelRoute } from './resolve-model.js';

interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

const records = new WeakMap<FastifyRequest, RequestRecord>();

/** Returns the record of a chat request, if the request was one. */
export function recordOf(request: FastifyRequest): RequestRecord | undefined {
  return records.get(request);
}

/**
 * What one chat request did, written as a single info line when it ends.
 * It holds ids, names, numbers and statuses only, never message content.
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
  error: unknown;

  constructor(request: FastifyRequest) {
    this.request = request;
    records.set(request, this);
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
    };
    if (status >= 500) this.request.log.error({ ...fields, err: this.error }, 'chat request failed');
    else this.request.log.info(fields, 'chat request completed');
  }
}
