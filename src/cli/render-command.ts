import { RenderCache } from '../packs/render-cache.js';
import { loadCommandSetup } from './config-lookup.js';
import { CliContext, EXIT_OK } from './context.js';
import { findPack, looksLikeFile, printWarnings } from './find-pack.js';

/**
 * `microtune packs render <pack|file>`: prints the system prompt exactly as
 * the proxy sends it (the same RenderCache path, with `{{user}}` from
 * `--user` like the x-microtune-user header), then one newline. The rendered
 * text never ends in a newline itself, because rendering trims it.
 */
export function runRender(
  context: CliContext,
  argument: string,
  options: { config: string | undefined; user: string | undefined },
): number {
  const packsFolder = looksLikeFile(argument) ? '' : loadCommandSetup(context, options.config).packsFolder;
  const found = findPack(context, argument, packsFolder);
  printWarnings(context, found);
  const rendered = new RenderCache().get(found.loaded, { user: options.user });
  context.out(rendered.text);
  return EXIT_OK;
}
