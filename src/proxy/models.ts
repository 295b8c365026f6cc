import type { FastifyInstance } from 'fastify';
import { modelNotFound } from '../errors/proxy-error.js';
import type { ProxyState } from './proxy-state.js';

interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

function listModels(state: ProxyState): ModelEntry[] {
  const { config, loadedAt } = state.snapshot;
  return Object.keys(config.aliases).map((id) => ({ id, object: 'model', created: loadedAt, owned_by: 'microtune' }));
}

/** GET /v1/models lists every alias in OpenAI's list shape. */
export function registerModelRoutes(app: FastifyInstance, state: ProxyState): void {
  app.get('/v1/models', async () => ({ object: 'list', data: listModels(state) }));

  app.get<{ Params: { id: string } }>('/v1/models/:id', async (request) => {
    const entry = listModels(state).find((model) => model.id === request.params.id);
    if (entry === undefined) throw modelNotFound(request.params.id);
    return entry;
  });
}
