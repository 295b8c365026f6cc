import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { ConfigError, loadConfig } from '../config/load-config.js';
import { loadPackSet } from '../packs/load-packs.js';
import type { ProxyState } from '../proxy/proxy-state.js';
import { mergePackSets } from './merge-pack-sets.js';

export type ReloadResult = 'applied' | 'unchanged' | 'rejected';

export interface ReloaderOptions {
  state: ProxyState;
  logger: FastifyBaseLogger;
  env?: Record<string, string | undefined>;
  /** Wait this long after the last file event before reloading, so one save is one reload. */
  debounceMs?: number;
  onReload?: (result: ReloadResult) => void;
}

/**
 * Reloads config and packs from disk while the server runs. A valid change is
 * swapped in as one new snapshot (requests in flight keep the old one); an
 * invalid config is rejected whole and logged with its file and field, and
 * the last good version keeps serving.
 */
export class Reloader {
  private readonly options: ReloaderOptions;
  private watchers: FSWatcher[] = [];
  private watchedFolders: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(options: ReloaderOptions) {
    this.options = options;
  }

  reload(reason: string): ReloadResult {
    const { state, logger } = this.options;
    const current = state.snapshot;
    let result: ReloadResult;
    try {
      const config = loadConfig(current.config.file, this.options.env ?? process.env);
      const loaded = loadPackSet(config.packsPath);
      // Warnings are logged once per pack version: only for packs that are new or changed.
      for (const warning of loaded.warnings ?? []) {
        if (current.packSet.packs.get(warning.name)?.hash === loaded.packs.get(warning.name)?.hash) continue;
        logger.warn(
          { pack: warning.name, file: warning.file, line: warning.line, rule: warning.rule, problem: warning.message },
          'pack lint warning',
        );
      }
      const merged = mergePackSets(current.packSet, loaded);
      for (const failure of merged.rejected) {
        state.metrics.observePackRejection(failure.name);
        logger.error(
          { pack: failure.name, file: failure.file, problem: failure.problem },
          'pack change rejected; the last good version keeps serving',
        );
      }
      for (const failure of merged.packSet.failures.values()) {
        logger.error({ pack: failure.name, file: failure.file, problem: failure.problem }, 'pack left out');
      }
      const sameConfig = JSON.stringify(config) === JSON.stringify(current.config);
      if (sameConfig && merged.packSet.hash === current.packSet.hash && merged.packSet.failures.size === current.packSet.failures.size) {
        result = 'unchanged';
      } else {
        state.replace(config, merged.packSet);
        logger.info({ reason, packs: [...merged.packSet.packs.keys()], packSetHash: merged.packSet.hash }, 'config and packs reloaded');
        result = 'applied';
      }
    } catch (error) {
      result = 'rejected';
      if (error instanceof ConfigError) {
        for (const problem of error.problems) {
          logger.error({ file: problem.file, field: problem.path, problem: problem.message }, 'config change rejected; the last good version keeps serving');
        }
      } else {
        logger.error({ err: error }, 'reload failed; the last good version keeps serving');
      }
    }
    state.metrics.observeReload(result);
    this.options.onReload?.(result);
    this.rewatchIfMoved();
    return result;
  }

  /** Watches the config file's folder and the packs folder. */
  start(): void {
    this.rewatch();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }

  private folders(): string[] {
    const { config } = this.options.state.snapshot;
    return [...new Set([path.dirname(config.file), config.packsPath])];
  }

  private rewatchIfMoved(): void {
    if (this.watchers.length === 0) return;
    if (this.folders().join('\n') !== this.watchedFolders.join('\n')) this.rewatch();
  }

  private rewatch(): void {
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
    this.watchedFolders = this.folders();
    for (const folder of this.watchedFolders) {
      try {
        const watcher = watch(folder, () => this.schedule());
        watcher.on('error', (error) => this.options.logger.warn({ err: error, folder }, 'file watch failed; SIGHUP still reloads'));
        this.watchers.push(watcher);
      } catch (error) {
        this.options.logger.warn({ err: error, folder }, 'cannot watch folder; SIGHUP still reloads');
      }
    }
  }

  private schedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reload('file change');
    }, this.options.debounceMs ?? 200);
    this.timer.unref();
  }
}
