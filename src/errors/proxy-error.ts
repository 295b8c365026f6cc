/**
 * Errors the proxy raises on purpose. Each carries the HTTP status and the
 * fields of OpenAI's error object, so one function can turn any of them into
 * the JSON that OpenAI SDKs parse.
 */
export interface OpenAIErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
  };
}

export interface ProxyErrorOptions {
  status: number;
  type: string;
  code: string;
  param?: string | null;
  headers?: Record<string, string>;
  cause?: unknown;
}

export class ProxyError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string;
  readonly param: string | null;
  readonly headers: Record<string, string>;

  constructor(message: string, options: ProxyErrorOptions) {
    super(message, { cause: options.cause });
    this.name = 'ProxyError';
    this.status = options.status;
    this.type = options.type;
    this.code = options.code;
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export function invalidRequest(message: string, param: string | null, code = 'invalid_request'): ProxyError {
  return new ProxyError(message, { status: 400, type: 'invalid_request_error', code, param });
}

export function modelNotFound(model: string): ProxyError {
  return new ProxyError(
    `The model "${model}" is not an alias of this proxy and passthrough is off. ` +
      'Call GET /v1/models for the list of aliases.',
    { status: 404, type: 'invalid_request_error', code: 'model_not_found', param: 'model' },
  );
}

export function packUnavailable(alias: string, packName: string, problem: string): ProxyError {
  return new ProxyError(
    `The alias "${alias}" uses pack "${packName}", which is not loaded: ${problem}. ` +
      'Fix the pack file; the server picks it up on reload.',
    { status: 503, type: 'server_error', code: 'pack_unavailable', param: 'model' },
  );
}

export function upstreamUnreachable(upstream: string, detail: string, cause?: unknown): ProxyError {
  return new ProxyError(`Upstream "${upstream}" could not be reached: ${detail}.`, {
    status: 502,
    type: 'upstream_error',
    code: 'upstream_unreachable',
    cause,
  });
}

export function upstreamBadResponse(upstream: string, detail: string): ProxyError {
  return new ProxyError(`Upstream "${upstream}" sent an invalid response: ${detail}`, {
    status: 502,
    type: 'upstream_error',
    code: 'upstream_bad_response',
  });
}

export function upstreamTimeout(upstream: string, phase: string): ProxyError {
  return new ProxyError(`Upstream "${upstream}" timed out ${phase}.`, {
    status: 504,
    type: 'upstream_error',
    code: 'upstream_timeout',
  });
}

/**
 * The client closed the connection before the answer was complete. Nobody
 * reads this response; the status (nginx's 499) only labels logs and metrics.
 */
export function clientClosedRequest(): ProxyError {
  return new ProxyError('The client closed the connection before the answer was complete.', {
    status: 499,
    type: 'invalid_request_error',
    code: 'client_closed_request',
  });
}
