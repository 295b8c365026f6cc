import type { FastifyInstance } from 'fastify';
import type { ProxyState } from '../proxy/proxy-state.js';
import type { Reloader } from './reloader.js';

/** Time aborted streams get to write their error event before connections are cut. */
const ABORTED_STREAM_DRAIN_MS = 1_000;

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

  state.closing = true;
  const closed = app.close();
  let lastResort: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    const aborted = state.abortInFlight('the proxy is shutting down');
    app.log.warn({ aborted, graceMs }, 'grace period over; aborted requests still in flight');
    // The aborted streams write their error events first; only then are the
    // connections that are still open cut.
    lastResort = setTimeout(() => app.server.closeAllConnections(), ABORTED_STREAM_DRAIN_MS);
    lastResort.unref();
  }, graceMs);
  timer.unref();

  try {
    await closed;
  } finally {
    clearTimeout(timer);
    if (lastResort !== undefined) clearTimeout(lastResort);
    await state.destroy();
  }
}
