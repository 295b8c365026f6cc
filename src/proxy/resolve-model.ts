import type { Config } from '../config/load-config.js';
import type { ContextConfig, ThinkingMode, VariantConfig } from '../config/schema.js';
import type { SystemMessagePolicy } from '../conversation/system-policy.js';
import { invalidRequest, modelNotFound } from '../errors/proxy-error.js';

/** Where a request goes and what is done to it, decided from its `model`. */
export interface ModelRoute {
  /** The alias the client named, or null for passthrough and the ad-hoc form. */
  alias: string | null;
  packName: string | undefined;
  upstreamName: string;
  upstreamModel: string;
  thinking: ThinkingMode;
  implicitThinkOpen: boolean;
  emptyAnswerFallback: boolean;
  systemMessages: SystemMessagePolicy;
  context: ContextConfig | undefined;
  variants: VariantConfig[] | undefined;
  /** Upstream and model pairs tried in order after the first one fails. */
  fallbacks: { upstreamName: string; upstreamModel: string }[];
}

const AD_HOC_PREFIX = 'pack:';

/**
 * Resolves a request's model: an exact alias first, then the ad-hoc form
 * `pack:<pack>/<upstream model>`, then passthrough to the `default` upstream.
 * The ad-hoc form and passthrough are both off when passthrough is disabled,
 * because both let a client pick an upstream model that no alias names.
 */
export function resolveModel(model: string, config: Config): ModelRoute {
  const alias = Object.hasOwn(config.aliases, model) ? config.aliases[model] : undefined;
  if (alias !== undefined) {
    return {
      alias: model,
      packName: alias.pack,
      upstreamName: alias.upstream,
      upstreamModel: alias.model,
      thinking: alias.thinking,
      implicitThinkOpen: alias.implicitThinkOpen,
      emptyAnswerFallback: alias.emptyAnswerFallback,
      systemMessages: alias.systemMessages,
      context: alias.context,
      variants: alias.variants,
      fallbacks: alias.fallbacks.map((fallback) => ({
        upstreamName: fallback.upstream ?? alias.upstream,
        upstreamModel: fallback.model ?? alias.model,
      })),
    };
  }

  if (!config.passthrough.enabled) throw modelNotFound(model);

  let packName: string | undefined;
  let upstreamModel = model;
  if (model.startsWith(AD_HOC_PREFIX)) {
    const rest = model.slice(AD_HOC_PREFIX.length);
    const slash = rest.indexOf('/');
    if (slash <= 0 || slash === rest.length - 1) {
      throw invalidRequest(
        `The model "${model}" uses the ad-hoc form but is not "pack:<pack name>/<upstream model>".`,
        'model',
        'invalid_model',
      );
    }
    packName = rest.slice(0, slash);
    upstreamModel = rest.slice(slash + 1);
  }

  return {
    alias: null,
    packName,
    upstreamName: 'default',
    upstreamModel,
    thinking: 'keep',
    implicitThinkOpen: false,
    emptyAnswerFallback: true,
    systemMessages: 'keep',
    context: undefined,
    variants: undefined,
    fallbacks: [],
  };
}
