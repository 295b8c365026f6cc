import type { Config } from '../config/load-config.js';
import type { PriceConfig } from '../config/schema.js';
import { countTokens, TOKEN_ENCODING } from '../packs/count-tokens.js';
import type { LoadedPack } from '../packs/load-packs.js';
import { RenderCache } from '../packs/render-cache.js';
import { loadCommandSetup } from './config-lookup.js';
import { CliContext, EXIT_FINDINGS, EXIT_OK } from './context.js';
import { findPack, leftOut, loadFolder, type FoundPack } from './find-pack.js';

const TOKENS_PER_PRICE_UNIT = 1_000_000;

/** Cost of one request's pack prefix at an input price per million tokens. */
export function prefixCost(tokens: number, inputPerMillion: number): number {
  return (tokens * inputPerMillion) / TOKENS_PER_PRICE_UNIT;
}

/** Formats an amount of money with at most four significant digits and thousands separators. */
export function formatAmount(value: number): string {
  return value.toLocaleString('en-US', { maximumSignificantDigits: 4 });
}

/**
 * `microtune packs stats [pack|file]`: prints the token count of each
 * rendered pack and, for every alias that uses it, the input cost of the
 * pack prefix per request and per 1,000 requests. The alias price wins over
 * its upstream's price. Returns 1 when a pack is left out.
 */
export function runStats(
  context: CliContext,
  argument: string | undefined,
  options: { config: string | undefined; user: string | undefined },
): number {
  const setup = loadCommandSetup(context, options.config);
  let exitCode = EXIT_OK;
  const packs: FoundPack[] = [];
  if (argument !== undefined) {
    packs.push(findPack(context, argument, setup.packsFolder));
  } else {
    const set = loadFolder(context, setup.packsFolder);
    for (const failure of set.failures.values()) {
      context.err(leftOut(context, failure).message);
      exitCode = EXIT_FINDINGS;
    }
    for (const loaded of [...set.packs.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      packs.push({ loaded, findings: [] });
    }
  }

  if (setup.config === undefined) context.err(context.text('statsNoConfig'));
  context.out(context.text('statsEncoding', { encoding: TOKEN_ENCODING }));
  const cache = new RenderCache();
  let costShown = false;
  for (const { loaded } of packs) {
    const tokens = countTokens(cache.get(loaded, { user: options.user }).text);
    context.out(context.text('statsPack', { name: loaded.name, tokens }));
    if (setup.config !== undefined) costShown = printCosts(context, setup.config, loaded, tokens) || costShown;
  }
  if (costShown) context.out(context.text('statsCostNote'));
  return exitCode;
}

/** Prints one cost line per alias of the pack; returns whether any had a price. */
function printCosts(context: CliContext, config: Config, loaded: LoadedPack, tokens: number): boolean {
  const aliases = Object.entries(config.aliases).filter(([, alias]) => alias.pack === loaded.name);
  if (aliases.length === 0) {
    context.out(context.text('statsNoAlias'));
    return false;
  }

  let priced = false;
  for (const [name, alias] of aliases) {
    const upstreamPrice: PriceConfig | undefined = config.upstreams[alias.upstream]?.price;
    const price = alias.price ?? upstreamPrice;
    if (price === undefined) {
      context.out(context.text('statsAliasNoPrice', { alias: name, upstream: alias.upstream }));
      continue;
    }
    priced = true;
    const perRequest = prefixCost(tokens, price.inputPerMillion);
    context.out(
      context.text('statsAliasCost', {
        alias: name,
        model: alias.model,
        upstream: alias.upstream,
        price: formatAmount(price.inputPerMillion),
        currency: price.currency,
        perRequest: formatAmount(perRequest),
        perThousand: formatAmount(perRequest * 1000),
        source: alias.price !== undefined ? 'alias' : 'upstream',
      }),
    );
  }
  return priced;
}
