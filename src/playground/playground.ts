import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * The page may run only its own inline script and style sheet and may fetch
 * only from the proxy that served it. `img-src data:` covers the empty
 * favicon, which keeps the browser from requesting /favicon.ico.
 */
function contentSecurityPolicy(script: string, style: string): string {
  return [
    "default-src 'none'",
    `script-src ${cspHash(script)}`,
    `style-src ${cspHash(style)}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

interface PlaygroundPage {
  html: string;
  contentSecurityPolicy: string;
}

let page: Promise<PlaygroundPage> | undefined;

/**
 * Builds the page on its first request. The page, its script and its UI
 * dictionary take about 260 KB of heap, which a server does not need until
 * someone opens the playground.
 */
function loadPage(): Promise<PlaygroundPage> {
  page ??= import('./page.js').then(({ PLAYGROUND_HTML, PLAYGROUND_SCRIPT, PLAYGROUND_STYLE }) => ({
    html: PLAYGROUND_HTML,
    contentSecurityPolicy: contentSecurityPolicy(PLAYGROUND_SCRIPT, PLAYGROUND_STYLE),
  }));
  return page;
}

/**
 * Registers GET /playground, the creators' chat page. The page is public (the
 * access hook leaves /playground open); it calls /v1/microtune/aliases and
 * /v1/chat/completions, which proxy keys guard as usual.
 */
export async function registerPlayground(app: FastifyInstance): Promise<void> {
  app.get('/playground', async (_request, reply) => {
    const { html, contentSecurityPolicy } = await loadPage();
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', contentSecurityPolicy)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(html);
  });

  // The page fetches through relative URLs ("v1/..."), which resolve wrongly
  // from /playground/, so the trailing slash is redirected away. The relative
  // Location keeps working when a reverse proxy mounts microtune under a path.
  app.get('/playground/', async (_request, reply) => {
    return reply.redirect('../playground', 308);
  });
}

export default registerPlayground;
