import { pino, type Logger, type LoggerOptions } from 'pino';

/**
 * Paths pino removes before writing a line. Message content, keys and
 * Authorization headers never reach the log, even when a whole request or
 * headers object is logged by mistake.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["api-key"]',
  'authorization',
  'apiKey',
  '*.apiKey',
  'upstreams.*.apiKey',
  'messages',
  'body.messages',
  'content',
  'prompt',
];

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const loggerOptions: LoggerOptions = {
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: 'microtune' },
  };
  return options.destination === undefined
    ? pino(loggerOptions)
    : pino(loggerOptions, options.destination as unknown as pino.DestinationStream);
}
