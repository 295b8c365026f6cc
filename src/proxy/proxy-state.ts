import type { Config } from '../config/load-config.js';
import type { LoadedPack, PackFailure, PackSet } from '../packs/load-packs.js';
import { MessageTokenCounter } from '../conversation/message-tokens.js';
import { MemoryReasoningStash, type ReasoningStash } from '../conversation/reasoning-stash.js';
import { MemoryRecapStore, type RecapStore } from '../conversation/recap.js';
import { Metrics } from '../metrics/metrics.js';
import { RenderCache, type RenderedPack, type RenderOverrides } from '../packs/render-cache.js';
import { UpstreamClient } from './upstream-client.js';
import { ProxyError } from '../errors/proxy-error.js';

/**
 * The loaded config, packs and upstream pools that requests read. A request
 * takes one snapshot at its start, so a reload never changes what an
 * in-flight request uses.
 */
export interface ProxySnapshot {
  config: Config;
  packSet: PackSet;
  upstreams: ReadonlyMap<string, UpstreamClient>;
  /** Unix seconds when this snapshot was made, shown as `created` in /v1/models. */
  loadedAt: number;
}

interface SnapshotUse {
  /** Requests that hold the snapshot now. */
  holders: number;
  retired: boolean;
}

export class ProxyState {
  readonly renderCache: RenderCache;
  readonly metrics: Metrics;
  readonly reasoningStash: ReasoningStash;
  readonly recapStore: RecapStore;
  readonly tokenCounter = new MessageTokenCounter();
  /** True once shutdown began: new requests get 503. */
  closing = false;
  /** Abort handles of the chat requests in flight, for shutdown. */
  readonly inFlight = new Set<{ abort(reason: unknown): void }>();
  private current: ProxySnapshot;
  /** The current snapshot and every retired one that a request still holds. */
  private readonly uses = new Map<ProxySnapshot, SnapshotUse>();

  constructor(
    config: Config,
    packSet: PackSet,
    options: { renderCache?: RenderCache; metrics?: Metrics; reasoningStash?: ReasoningStash; recapStore?: RecapStore } = {},
  ) {
    this.renderCache = options.renderCache ?? new RenderCache();
    this.metrics = options.metrics ?? new Metrics();
    this.reasoningStash = options.reasoningStash ?? new MemoryReasoningStash(config.reasoningStash);
    this.recapStore = options.recapStore ?? new MemoryRecapStore();
    this.current = makeSnapshot(config, packSet, new Map());
    this.uses.set(this.current, { holders: 0, retired: false });
    this.prerender(packSet);
  }

  get snapshot(): ProxySnapshot {
    return this.current;
  }

  /**
   * Returns the current snapshot for one request and keeps its upstream pools
   * open until `release` is called, even if a reload replaces it meanwhile:
   * the request may still need them for a retry or a fallback.
   */
  acquire(): ProxySnapshot {
    const snapshot = this.current;
    const use = this.uses.get(snapshot);
    if (use !== undefined) use.holders += 1;
    return snapshot;
  }

  release(snapshot: ProxySnapshot): void {
    const use = this.uses.get(snapshot);
    if (use === undefined) return;
    use.holders -= 1;
    if (use.retired && use.holders <= 0) this.forget(snapshot);
  }

  /**
   * Replaces the config and packs. Upstream pools whose settings did not
   * change are kept; the others are closed once no request holds them.
   */
  replace(config: Config, packSet: PackSet): void {
    const previous = this.current;
    this.current = makeSnapshot(config, packSet, previous.upstreams, previous.config);
    this.uses.set(this.current, { holders: 0, retired: false });
    this.prerender(packSet);
    const use = this.uses.get(previous);
    if (use !== undefined) use.retired = true;
    if (use === undefined || use.holders <= 0) this.forget(previous);
  }

  /** Drops a retired snapshot and closes its pools that no live snapshot shares. */
  private forget(snapshot: ProxySnapshot): void {
    this.uses.delete(snapshot);
    const live = new Set<UpstreamClient>();
    for (const other of this.uses.keys()) for (const client of other.upstreams.values()) live.add(client);
    for (const client of snapshot.upstreams.values()) {
      if (!live.has(client)) void client.close();
    }
  }

  /** Returns the pack's rendering, or the reason it is unavailable. */
  rendered(
    packName: string,
    overrides?: RenderOverrides,
    snapshot: ProxySnapshot = this.current,
  ): RenderedPack | PackFailure | undefined {
    const loaded: LoadedPack | undefined = snapshot.packSet.packs.get(packName);
    if (loaded !== undefined) return this.renderCache.get(loaded, overrides);
    return snapshot.packSet.failures.get(packName);
  }

  /**
   * Aborts every chat request still in flight with a 503 `shutting_down` error. A request
   * that has no response yet gets it as its response, and an open stream as its error event.
   */
  abortInFlight(reason: string): number {
    const count = this.inFlight.size;
    const error = new ProxyError(`The proxy stopped the request: ${reason}. Retry it; another instance or the restarted one will respond.`, {
      status: 503,
      type: 'server_error',
      code: 'shutting_down',
    });
    for (const controller of this.inFlight) controller.abort(error);
    return count;
  }

  async close(): Promise<void> {
    await Promise.all([...this.current.upstreams.values()].map((client) => client.close()));
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.current.upstreams.values()].map((client) => client.destroy()));
  }

  private prerender(packSet: PackSet): void {
    for (const loaded of packSet.packs.values()) this.renderCache.get(loaded);
  }
}

function makeSnapshot(
  config: Config,
  packSet: PackSet,
  previousClients: ReadonlyMap<string, UpstreamClient>,
  previousConfig?: Config,
): ProxySnapshot {
  const upstreams = new Map<string, UpstreamClient>();
  for (const [name, upstream] of Object.entries(config.upstreams)) {
    const old = previousClients.get(name);
    const unchanged =
      old !== undefined &&
      previousConfig !== undefined &&
      JSON.stringify(previousConfig.upstreams[name]) === JSON.stringify(upstream);
    upstreams.set(name, unchanged ? old : new UpstreamClient(name, upstream));
  }
  return { config, packSet, upstreams, loadedAt: Math.floor(Date.now() / 1000) };
}
