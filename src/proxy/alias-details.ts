import type { FastifyInstance } from 'fastify';
import { TOKEN_ENCODING } from '../packs/count-tokens.js';
import { countRenderedTokens } from '../packs/rendered-tokens.js';
import type { ProxyState } from './proxy-state.js';

interface PackDetails {
  name: string;
  title: string | undefined;
  systemPrompt: string | undefined;
  tokens: number | undefined;
  /** Why the pack is not loaded, when it is not. */
  problem: string | undefined;
}

function packDetails(state: ProxyState, name: string): PackDetails {
  const loaded = state.snapshot.packSet.packs.get(name);
  const rendered = state.rendered(name);
  if (loaded === undefined || rendered === undefined || 'problem' in rendered) {
    return {
      name,
      title: undefined,
      systemPrompt: undefined,
      tokens: undefined,
      problem: rendered !== undefined && 'problem' in rendered ? rendered.problem : 'no pack file of that name exists',
    };
  }
  return { name, title: loaded.pack.title, systemPrompt: rendered.text, tokens: countRenderedTokens(rendered), problem: undefined };
}

/**
 * GET /v1/microtune/aliases: every alias with its thinking mode and its
 * pack's rendered system prompt and token count, for the playground and for
 * pack authors. It sits under /v1, so proxy keys guard it like the chat API.
 */
export function registerAliasDetailsRoute(app: FastifyInstance, state: ProxyState): void {
  app.get('/v1/microtune/aliases', async () => {
    const { config } = state.snapshot;
    const data = Object.entries(config.aliases).map(([id, alias]) => {
      const packNames = alias.variants?.map((variant) => variant.pack) ?? (alias.pack === undefined ? [] : [alias.pack]);
      return {
        id,
        model: alias.model,
        upstream: alias.upstream,
        thinking: alias.thinking,
        packs: packNames.map((name) => packDetails(state, name)),
      };
    });
    return { object: 'list', tokenEncoding: TOKEN_ENCODING, data };
  });
}
