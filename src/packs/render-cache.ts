import { LRUCache } from 'lru-cache';
import type { LoadedPack } from './load-packs.js';
import { renderPack } from './render.js';
import type { Pack } from './schema.js';

export interface RenderedPack {
  text: string;
  /** The system message, already serialised as JSON, ready to splice into a request body. */
  messageJson: string;
}

/**
 * Rendered system prompts keyed by pack name and content hash. An edited pack
 * gets a new hash, so a stale rendering is never served; old entries age out.
 */
export class RenderCache {
  private readonly cache: LRUCache<string, RenderedPack>;
  private readonly render: (pack: Pack) => string;
  /** How many times a pack was rendered (a cache miss). */
  renders = 0;

  constructor(options: { max?: number; render?: (pack: Pack) => string } = {}) {
    this.cache = new LRUCache({ max: options.max ?? 256 });
    this.render = options.render ?? renderPack;
  }

  get(loaded: LoadedPack): RenderedPack {
    const key = `${loaded.name}@${loaded.hash}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;

    this.renders += 1;
    const text = this.render(loaded.pack);
    const rendered: RenderedPack = { text, messageJson: JSON.stringify({ role: 'system', content: text }) };
    this.cache.set(key, rendered);
    return rendered;
  }
}
