import { z } from 'zod';
import { formatPath } from '../config/load-config.js';
import { thinkingModeSchema, type ThinkingMode } from '../config/schema.js';
import { invalidRequest } from '../errors/proxy-error.js';

/**
 * The fields of a chat completion request that the proxy reads. Everything
 * else (temperature, tools, vendor fields such as enable_thinking) passes
 * through untouched.
 */
const chatRequestSchema = z
  .object({
    model: z.string().min(1, 'must be a non-empty string'),
    messages: z.array(z.looseObject({ role: z.string().min(1) })).min(1, 'must contain at least one message'),
    stream: z.boolean().optional(),
    microtune_thinking: z.unknown().optional(),
  })
  .loose();

export type ChatRequest = z.infer<typeof chatRequestSchema>;

export const THINKING_HEADER = 'x-microtune-thinking';
export const USER_NAME_HEADER = 'x-microtune-user';
const MAX_USER_NAME_LENGTH = 64;
export const THINKING_BODY_FIELD = 'microtune_thinking';

export function parseChatRequest(body: unknown): ChatRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidRequest('The request body must be a JSON object.', null, 'invalid_json');
  }
  const result = chatRequestSchema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    const param = issue !== undefined ? formatPath(issue.path) : null;
    throw invalidRequest(`Invalid request: ${param ?? 'body'}: ${issue?.message ?? 'invalid'}.`, param);
  }
  return result.data;
}

function parseThinkingValue(value: unknown, source: string): ThinkingMode {
  const result = thinkingModeSchema.safeParse(value);
  if (!result.success) {
    throw invalidRequest(
      `${source} is ${JSON.stringify(value)}; it must be "keep", "strip" or "separate".`,
      source === THINKING_BODY_FIELD ? THINKING_BODY_FIELD : null,
      'invalid_thinking_mode',
    );
  }
  return result.data;
}

/** The thinking mode for one request: the body field wins over the header, which wins over the alias. */
export function chooseThinkingMode(
  aliasMode: ThinkingMode,
  header: string | string[] | undefined,
  body: ChatRequest,
): ThinkingMode {
  let mode = aliasMode;
  if (header !== undefined) {
    mode = parseThinkingValue(Array.isArray(header) ? header.join(',') : header.trim(), `Header ${THINKING_HEADER}`);
  }
  if (body.microtune_thinking !== undefined) {
    mode = parseThinkingValue(body.microtune_thinking, THINKING_BODY_FIELD);
  }
  return mode;
}

type ChatMessage = ChatRequest['messages'][number];

/**
 * Reads the `{{user}}` name from `x-microtune-user`. HTTP header values are
 * Latin-1, so a name in other scripts comes percent-encoded (for example
 * `%E5%B0%8F%E6%98%8E` for 小明) and is decoded here.
 */
export function readUserName(header: string | string[] | undefined): string | undefined {
  const raw = (Array.isArray(header) ? header[0] : header)?.trim();
  if (raw === undefined || raw === '') return undefined;
  let name = raw;
  if (/%[0-9A-Fa-f]{2}/.test(raw)) {
    try {
      name = decodeURIComponent(raw);
    } catch {
      throw invalidRequest(`Header ${USER_NAME_HEADER} is not valid percent-encoded UTF-8.`, null, 'invalid_user_name');
    }
  }
  if (name.length > MAX_USER_NAME_LENGTH || /[\p{Cc}{}]/u.test(name)) {
    throw invalidRequest(
      `Header ${USER_NAME_HEADER} must be a name of at most ${MAX_USER_NAME_LENGTH} characters without control characters or braces.`,
      null,
      'invalid_user_name',
    );
  }
  return name;
}

/**
 * Serialises the upstream request: the client's body with the upstream model,
 * `messages` (the client's, possibly rewritten) after the system prefix, and
 * the proxy's own fields removed. The prefix is the system message already
 * serialised as JSON; the pack's is made once per pack and spliced in as
 * text instead of being serialised again with every request. A prefix given
 * as bytes (the pack's message, encoded once) makes the body bytes too, so the
 * pack's text is not encoded to UTF-8 again for every request.
 */
export function buildUpstreamBody(
  request: ChatRequest,
  upstreamModel: string,
  prefix: string | Buffer | undefined,
  messages: ChatMessage[] = request.messages,
): string | Buffer {
  const { microtune_thinking: _thinking, messages: _messages, ...rest } = request;
  if (prefix === undefined) {
    return JSON.stringify({ ...rest, model: upstreamModel, messages });
  }
  const head = `${JSON.stringify({ ...rest, model: upstreamModel }).slice(0, -1)},"messages":[`;
  const tail = messages.length === 0 ? ']}' : `,${JSON.stringify(messages).slice(1)}}`;
  if (typeof prefix === 'string') return `${head}${prefix}${tail}`;
  const headBytes = Buffer.from(head, 'utf8');
  const tailBytes = Buffer.from(tail, 'utf8');
  return Buffer.concat([headBytes, prefix, tailBytes], headBytes.length + prefix.length + tailBytes.length);
}
