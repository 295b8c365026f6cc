import { ProxyError, type OpenAIErrorBody } from './proxy-error.js';

export interface ErrorResponse {
  status: number;
  body: OpenAIErrorBody;
  headers: Record<string, string>;
}

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
  validation?: unknown;
}

const FASTIFY_CODES: Record<string, { code: string; message: (error: FastifyLikeError) => string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'request_too_large',
    message: () => 'The request body is larger than this proxy accepts (server.bodyLimitBytes in the config).',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'unsupported_media_type',
    message: () => 'The request body must be JSON with Content-Type: application/json.',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'invalid_json',
    message: () => 'The request body is empty; send a JSON chat completion request.',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    code: 'invalid_json',
    message: (error) => `The request body is not valid JSON: ${error.message ?? 'parse error'}.`,
  },
};

/**
 * Maps any error thrown while handling a request to OpenAI's error JSON and
 * a status. Errors the proxy did not create never echo their message in a
 * 5xx answer.
 */
export function toErrorResponse(error: unknown, requestId: string): ErrorResponse {
  if (error instanceof ProxyError) {
    return { status: error.status, body: error.toBody(), headers: error.headers };
  }

  const fastifyError = (error ?? {}) as FastifyLikeError;
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const known = fastifyError.code !== undefined ? FASTIFY_CODES[fastifyError.code] : undefined;
    const isJsonSyntax = error instanceof SyntaxError;
    const code = known?.code ?? (isJsonSyntax ? 'invalid_json' : 'invalid_request');
    const message =
      known?.message(fastifyError) ??
      (isJsonSyntax
        ? `The request body is not valid JSON: ${fastifyError.message ?? 'parse error'}.`
        : (fastifyError.message ?? 'Invalid request.'));
    return {
      status,
      body: { error: { message, type: 'invalid_request_error', param: null, code } },
      headers: {},
    };
  }

  return {
    status: 500,
    body: {
      error: {
        message: `Internal proxy error. Quote request id ${requestId} when you report it.`,
        type: 'server_error',
        param: null,
        code: 'internal_error',
      },
    },
    headers: {},
  };
}
