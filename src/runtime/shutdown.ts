import type { FastifyInstance } from 'fastify';
import type { ProxyState } from '../proxy/proxy-state.js';
import type { Reloader } from './reloader.js';

/**
 * Stops the server gracefully: no new connections or requests, requests and
 * streams in flight get `graceMs` to finish, then the rest are aborted (each
 * open stream ends with an error event) and the upstream pools are closed.
 */
export async function shutdown(options: {
  app: FastifyInstance;
  state: ProxyState;
  reloader?: Reloader;
  graceMs: number;
}): Promise<void> {
  const { app, state, reloader, graceMs } = options;
  reloader?.stop();

  const closed = app.close();
  const timer = setTimeout(() => {
    const aborted = state.abortInFlight('the proxy is shutting down');
    app.log.warn({ aborted, graceMs }, 'grace period over; aborted requests still in flight');
    app.server.closeAllConnections();
  }, graceMs);
  timer.unref();

  try {
    await closed;
  } finally {
    clearTimeout(timer);
    await state.destroy();
  }
}
