import type { FastifyInstance } from 'fastify';
import type { ProxyState } from '../proxy/proxy-state.js';

/**
 * Probes and metrics: /healthz (the process serves), /readyz (config and
 * packs loaded, with the pack set's content hash so an operator can check
 * that replicas agree) and /metrics (Prometheus text format).
 */
export function registerOpsRoutes(app: FastifyInstance, state: ProxyState): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async () => {
    const { packSet, config, loadedAt } = state.snapshot;
    return {
      status: 'ready',
      packSetHash: packSet.hash,
      packs: [...packSet.packs.keys()].sort(),
      failedPacks: [...packSet.failures.keys()].sort(),
      aliases: Object.keys(config.aliases).length,
      loadedAt,
    };
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await state.metrics.registry.metrics();
    void reply.header('content-type', state.metrics.registry.contentType);
    return text;
  });
}
