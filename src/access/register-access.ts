import type { FastifyInstance } from 'fastify';
import { ProxyError } from '../errors/proxy-error.js';
import type { ProxyState } from '../proxy/proxy-state.js';
import { checkProxyKey, keyLabel, presentedKey } from './api-keys.js';

/** Paths that stay open without a key: probes and metrics scrapes. */
const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

function isOpenPath(url: string): boolean {
  const path = url.split('?')[0] ?? url;
  return OPEN_PATHS.has(path) || path === '/playground' || path.startsWith('/playground/');
}

/**
 * Registers CORS, proxy keys and the per-key rate limit. CORS and the rate
 * limit are read once at start-up. Keys are read per request, so a reload
 * that adds or removes a key applies at once.
 */
export async function registerAccess(
  app: FastifyInstance,
  state: ProxyState,
  options: { rateLimitStore?: unknown } = {},
): Promise<void> {
  const { config } = state.snapshot;

  if (config.cors.origins.length > 0) {
    const origins = config.cors.origins;
    // Loaded only when configured, like the rate limit below (about 0.4 MB of heap), which most setups do not use.
    const { default: cors } = await import('@fastify/cors');
    await app.register(cors, {
      origin: origins.includes('*') ? '*' : origins,
      methods: ['GET', 'POST', 'OPTIONS'],
      // No allowedHeaders: the plugin then allows the headers the preflight requests, which
      // covers the openai SDK's x-stainless-* set and the user-agent that Firefox and Safari list.
      exposedHeaders: ['x-request-id', 'x-microtune-upstream', 'x-microtune-variant', 'x-microtune-dropped-turns', 'retry-after', 'x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests'],
      maxAge: 600,
    });
  }

  app.addHook('onRequest', (request, _reply, done) => {
    const keys = state.snapshot.config.auth.apiKeys;
    if (keys.length === 0 || request.method === 'OPTIONS' || isOpenPath(request.url)) {
      done();
      return;
    }
    try {
      checkProxyKey(request.headers, keys);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  });

  if (config.rateLimit.max > 0) {
    const { default: rateLimit } = await import('@fastify/rate-limit');
    await app.register(rateLimit, {
      max: config.rateLimit.max,
      timeWindow: config.rateLimit.windowMs,
      ...(options.rateLimitStore === undefined ? {} : { store: options.rateLimitStore as never }),
      allowList: (request) => request.method === 'OPTIONS' || isOpenPath(request.url),
      keyGenerator: (request) => {
        const key = presentedKey(request.headers);
        return key !== undefined ? `key:${keyLabel(key)}` : `ip:${request.ip}`;
      },
      errorResponseBuilder: (_request, context) =>
        new ProxyError(
          `Rate limit of this proxy reached: ${context.max} requests per ${context.after}. Retry after that.`,
          { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' },
        ),
    });
  }
}
