import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { toErrorResponse } from './errors/error-response.js';
import { ProxyError } from './errors/proxy-error.js';
import { createChatCompletionsHandler } from './proxy/chat-completions.js';
import type { ProxyState } from './proxy/proxy-state.js';
import { recordOf } from './proxy/request-record.js';
import { registerModelRoutes } from './proxy/models.js';
import { registerAliasDetailsRoute } from './proxy/alias-details.js';
import { registerAccess } from './access/register-access.js';
import { registerOpsRoutes } from './metrics/ops-routes.js';

const REQUEST_ID_PATTERN = /^[\w.:@/+=-]{1,128}$/;

export interface ServerOptions {
  state: ProxyState;
  logger: Logger;
  /** A @fastify/rate-limit store class; the default counts in this process. */
  rateLimitStore?: unknown;
}

/** Builds the Fastify app; listening is the caller's job. */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { state } = options;
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // The chat route writes its own single line per request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: state.snapshot.config.server.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: (request) => {
      const offered = request.headers['x-request-id'];
      return typeof offered === 'string' && REQUEST_ID_PATTERN.test(offered) ? offered : randomUUID();
    },
    // Requests during shutdown get OpenAI's error shape from the onRequest hook below.
    return503OnClosing: false,
  });

  // Callback hooks: an async hook costs a promise and a microtask on every request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    if (!state.closing) {
      done();
      return;
    }
    reply.header('connection', 'close');
    done(
      new ProxyError('The proxy is shutting down. Retry the request; another instance or the restarted one will respond.', {
        status: 503,
        type: 'server_error',
        code: 'shutting_down',
      }),
    );
  });

  app.addHook('onResponse', (request, reply, done) => {
    recordOf(request)?.log(reply.statusCode);
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    const response = toErrorResponse(error, request.id);
    const record = recordOf(request);
    if (record !== undefined) record.error = error;
    else if (response.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ status: response.status, code: response.body.error.code }, 'request rejected');
    void reply.code(response.status).headers(response.headers).send(response.body);
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({
      error: {
        message: `No route for ${request.method} ${request.url.split('?')[0]}. This proxy serves POST /v1/chat/completions and GET /v1/models.`,
        type: 'invalid_request_error',
        param: null,
        code: 'not_found',
      },
    });
  });

  await registerAccess(app, state, { rateLimitStore: options.rateLimitStore });
  registerOpsRoutes(app, state);
  registerModelRoutes(app, state);
  registerAliasDetailsRoute(app, state);
  await app.register(import('./playground/playground.js'));
  app.post('/v1/chat/completions', createChatCompletionsHandler(state));
  return app;
}
