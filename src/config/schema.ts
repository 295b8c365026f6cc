import { z } from 'zod';

export const thinkingModeSchema = z.enum(['keep', 'strip', 'separate']);

const durationMs = z.number().int().nonnegative();

/** Prices per million tokens, in any currency, used for cost estimates. */
export const priceSchema = z
  .object({
    inputPerMillion: z.number().nonnegative(),
    outputPerMillion: z.number().nonnegative(),
    currency: z.string().min(1).default('USD'),
  })
  .strict();

export const upstreamSchema = z
  .object({
    baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
    apiKey: z.string().optional(),
    timeouts: z
      .object({
        connectMs: durationMs.optional(),
        firstByteMs: durationMs.optional(),
        idleMs: durationMs.optional(),
        totalMs: durationMs.optional(),
      })
      .strict()
      .optional(),
    retry: z
      .object({
        maxRetries: z.number().int().min(0).max(10).default(2),
        baseDelayMs: durationMs.default(250),
        maxDelayMs: durationMs.default(4000),
        maxRetryAfterMs: durationMs.default(20_000),
      })
      .strict()
      .prefault({}),
    price: priceSchema.optional(),
  })
  .strict();

const fallbackSchema = z
  .object({
    upstream: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
  })
  .strict()
  .refine((value) => value.upstream !== undefined || value.model !== undefined, {
    message: 'a fallback names an upstream, a model or both',
  });

const contextSchema = z
  .object({
    /** The upstream model's window minus room for the answer, in tokens. */
    budgetTokens: z.number().int().positive(),
    /** Share of the budget the conversation is cut down to once it overflows. */
    lowWaterRatio: z.number().gt(0).max(1).default(0.7),
    /** Counts are estimates for non-OpenAI models; this share is added to every count. */
    safetyMargin: z.number().min(0).max(1).default(0.1),
    strategy: z.enum(['trim', 'summarize']).default('trim'),
    summarizer: z
      .object({
        upstream: z.string().min(1).optional(),
        model: z.string().min(1).optional(),
        maxTokens: z.number().int().positive().default(400),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const variantSchema = z
  .object({
    pack: z.string().min(1),
    weight: z.number().positive().default(1),
  })
  .strict();

export const aliasSchema = z
  .object({
    pack: z.string().min(1).optional(),
    upstream: z.string().min(1).default('default'),
    model: z.string().min(1),
    thinking: thinkingModeSchema.default('keep'),
    implicitThinkOpen: z.boolean().default(false),
    emptyAnswerFallback: z.boolean().default(true),
    fallbacks: z.array(fallbackSchema).default([]),
    systemMessages: z.enum(['keep', 'merge', 'reject']).default('keep'),
    context: contextSchema.optional(),
    /** Pack variants of an experiment; each conversation sticks to one, chosen by weight. */
    variants: z.array(variantSchema).min(2, 'an experiment needs at least two variants').optional(),
    price: priceSchema.optional(),
  })
  .strict();

export const configSchema = z
  .object({
    packsDir: z.string().min(1).default('../packs'),
    server: z
      .object({
        bodyLimitBytes: z.number().int().positive().default(32 * 1024 * 1024),
        keepAliveCommentMs: z.number().int().nonnegative().default(5000),
        shutdownGraceMs: z.number().int().nonnegative().default(10_000),
      })
      .strict()
      .prefault({}),
    upstreams: z.record(z.string().min(1), upstreamSchema).refine((value) => 'default' in value, {
      message: 'an upstream named "default" is required',
    }),
    passthrough: z
      .object({ enabled: z.boolean().default(true) })
      .strict()
      .prefault({}),
    aliases: z.record(z.string().min(1), aliasSchema).default({}),
    auth: z
      .object({
        // Empty strings are dropped, so "${MICROTUNE_API_KEY:-}" leaves auth off when unset.
        apiKeys: z.array(z.string()).default([]).transform((keys) => keys.filter((key) => key !== '')),
      })
      .strict()
      .prefault({}),
    cors: z
      .object({
        origins: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .prefault({}),
    reasoningStash: z
      .object({
        maxEntries: z.number().int().positive().default(10_000),
        ttlMs: z.number().int().positive().default(3_600_000),
      })
      .strict()
      .prefault({}),
    rateLimit: z
      .object({
        max: z.number().int().nonnegative().default(0),
        windowMs: z.number().int().positive().default(60_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type ThinkingMode = z.infer<typeof thinkingModeSchema>;
export type PriceConfig = z.infer<typeof priceSchema>;
export type ContextConfig = z.infer<typeof contextSchema>;
export type VariantConfig = z.infer<typeof variantSchema>;
export type UpstreamConfig = z.infer<typeof upstreamSchema>;
export type RetryConfig = UpstreamConfig['retry'];
export type AliasConfig = z.infer<typeof aliasSchema>;
export type ParsedConfig = z.infer<typeof configSchema>;
