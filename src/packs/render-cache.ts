import { LRUCache } from 'lru-cache';
import type { LoadedPack } from './load-packs.js';
import { fillPlaceholders, findPlaceholders } from './placeholders.js';
import { renderPack } from './render.js';
import type { Pack } from './schema.js';

export interface RenderedPack {
  text: string;
  /** The system message, already serialised as JSON, ready to splice into a request body. */
  messageJson: string;
}

/** Per-request values that replace the pack's own placeholder values. */
export interface RenderOverrides {
  /** Replaces the pack's `user` field as the value of `{{user}}`. */
  user?: string | undefined;
}

interface PlainEntry {
  rendered: RenderedPack;
  /** The rendering before placeholders were filled, reused for overrides. */
  template: string;
  usesUser: boolean;
}

/**
 * Rendered system prompts keyed by pack name and content hash. An edited pack
 * gets a new hash, so a stale rendering is never served. Old entries age out.
 *
 * Renderings with a `{{user}}` override live in a second LRU, so a stream of
 * distinct user names can evict only other overrides, never the plain
 * renderings that every request without an override reads.
 */
export class RenderCache {
  private readonly plain: LRUCache<string, PlainEntry>;
  private readonly overridden: LRUCache<string, RenderedPack>;
  private readonly render: (pack: Pack) => string;
  /** How many renderings were made, counting each distinct override once (a cache miss). */
  renders = 0;

  constructor(options: { max?: number; maxOverrides?: number; render?: (pack: Pack) => string } = {}) {
    this.plain = new LRUCache({ max: options.max ?? 256 });
    this.overridden = new LRUCache({ max: options.maxOverrides ?? 1024 });
    this.render = options.render ?? renderPack;
  }

  /**
   * Returns the pack's system prompt with `{{char}}` and `{{user}}` filled
   * from the pack's `char` and `user` fields. `overrides.user` replaces the
   * `user` field. Without it, or when it changes nothing, the call returns the
   * cached plain rendering object itself.
   */
  get(loaded: LoadedPack, overrides?: RenderOverrides): RenderedPack {
    const key = `${loaded.name}@${loaded.hash}`;
    const entry = this.plainEntry(key, loaded.pack);
    const user = overrides?.user;
    if (user === undefined || user === loaded.pack.user || !entry.usesUser) return entry.rendered;

    const overrideKey = `${key}\u0000user=${user}`;
    const cached = this.overridden.get(overrideKey);
    if (cached !== undefined) return cached;

    this.renders += 1;
    const rendered = toRendered(fillPlaceholders(entry.template, { char: loaded.pack.char, user }));
    this.overridden.set(overrideKey, rendered);
    return rendered;
  }

  private plainEntry(key: string, pack: Pack): PlainEntry {
    const cached = this.plain.get(key);
    if (cached !== undefined) return cached;

    this.renders += 1;
    const template = this.render(pack);
    const entry: PlainEntry = {
      rendered: toRendered(fillPlaceholders(template, { char: pack.char, user: pack.user })),
      template,
      usesUser: findPlaceholders(template).has('user'),
    };
    this.plain.set(key, entry);
    return entry;
  }
}

/**
 * Renders a pack as RenderCache.get does, without caching: the renderPack
 * layout with `{{char}}` and `{{user}}` filled from the pack, or `{{user}}`
 * from `overrides.user`.
 */
export function renderPackForProxy(pack: Pack, overrides: RenderOverrides = {}): string {
  return fillPlaceholders(renderPack(pack), { char: pack.char, user: overrides.user ?? pack.user });
}

function toRendered(text: string): RenderedPack {
  return { text, messageJson: JSON.stringify({ role: 'system', content: text }) };
}
