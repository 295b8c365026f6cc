import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACK_FILE_EXTENSIONS } from '../packs/pack-source.js';
import { scaffoldPack } from '../packs/scaffold.js';
import { PACK_NAME_PATTERN } from '../packs/schema.js';
import { loadCommandSetup } from './config-lookup.js';
import { CliContext, EXIT_OK, EXIT_USAGE } from './context.js';

/**
 * `microtune packs new <name>`: writes `<packs folder>/<name>.yaml` from the
 * scaffold. Rejects an invalid name and never overwrites: any pack file of
 * that name (any extension) stops it, because two files of one name keep
 * both out of the server.
 */
export function runNew(context: CliContext, name: string, configOption: string | undefined): number {
  if (!PACK_NAME_PATTERN.test(name)) throw context.error(EXIT_USAGE, 'invalidPackName', { name });

  const { packsFolder } = loadCommandSetup(context, configOption);
  for (const extension of PACK_FILE_EXTENSIONS) {
    const existing = path.join(packsFolder, `${name}${extension}`);
    if (existsSync(existing)) throw context.error(EXIT_USAGE, 'packExists', { file: context.display(existing) });
  }

  const file = path.join(packsFolder, `${name}.yaml`);
  try {
    mkdirSync(packsFolder, { recursive: true });
    // `wx` fails instead of overwriting a file created since the check above.
    writeFileSync(file, scaffoldPack(name, context.display(file)), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw context.error(EXIT_USAGE, 'packExists', { file: context.display(file) });
    }
    throw context.error(EXIT_USAGE, 'writeFailed', { file: context.display(file), reason: context.fileErrorReason(error) });
  }
  context.out(context.text('packCreated', { file: context.display(file) }));
  return EXIT_OK;
}
