import { countTokens } from './count-tokens.js';
import type { RenderedPack } from './render-cache.js';

const counts = new WeakMap<RenderedPack, number>();

/**
 * Counts the tokens of a rendered pack once. The rendering objects come from
 * the render cache, so the count lives exactly as long as the rendering.
 */
export function countRenderedTokens(rendered: RenderedPack): number {
  let tokens = counts.get(rendered);
  if (tokens === undefined) {
    tokens = countTokens(rendered.text);
    counts.set(rendered, tokens);
  }
  return tokens;
}
