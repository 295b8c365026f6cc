import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { importPackInput } from '../packs/import-file.js';
import { PackImportError } from '../packs/import-problems.js';
import { lintPackSource } from '../packs/lint.js';
import { parsePackSource } from '../packs/pack-source.js';
import { packToYaml } from '../packs/pack-yaml.js';
import { PACK_NAME_PATTERN } from '../packs/schema.js';
import { CliContext, CliError, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './context.js';
import { formatFindingLine, formatImportNote, formatImportProblem } from './messages.js';

/** Pack name used when neither --name, -o nor the input file name gives a valid one. */
const FALLBACK_NAME = 'imported-pack';

export interface ImportOptions {
  output: string | undefined;
  name: string | undefined;
  force: boolean;
}

/**
 * `microtune packs import <file>`: converts a raw prompt or a card into pack
 * YAML on stdout or in `-o`. Notes about what was left out, and lint
 * findings of the result, go to stderr. Returns 1 when the input cannot be
 * converted or the result has an error finding.
 */
export function runImport(context: CliContext, input: string, options: ImportOptions): number {
  const inputFile = context.resolve(input);
  const outputFile = options.output === undefined ? undefined : context.resolve(options.output);
  const name = packName(context, inputFile, outputFile, options.name);
  if (outputFile !== undefined && !options.force && existsSync(outputFile)) {
    throw context.error(EXIT_USAGE, 'outputExists', { file: context.display(outputFile) });
  }

  let bytes: Buffer;
  try {
    bytes = readFileSync(inputFile);
  } catch (error) {
    throw context.error(EXIT_USAGE, 'readFailed', { file: context.display(inputFile), reason: context.fileErrorReason(error) });
  }

  let result;
  try {
    result = importPackInput(bytes, inputFile, name);
  } catch (error) {
    if (!(error instanceof PackImportError)) throw error;
    throw new CliError(EXIT_FINDINGS, formatImportProblem(context.display(inputFile), error.problem, context.lang));
  }
  for (const note of result.notes) context.err(formatImportNote(note, context.lang));

  const shownFile = outputFile === undefined ? `${name}.yaml` : context.display(outputFile);
  const yaml = packToYaml(result.pack, [
    context.text('importHeader', { input: path.basename(inputFile) }),
    context.text('importHeaderLint', { file: shownFile }),
  ]);
  const { findings } = lintPackSource(parsePackSource(yaml, outputFile ?? `${name}.yaml`, 'yaml'));

  if (outputFile === undefined) {
    context.io.stdout.write(yaml);
  } else {
    try {
      mkdirSync(path.dirname(outputFile), { recursive: true });
      writeFileSync(outputFile, yaml);
    } catch (error) {
      throw context.error(EXIT_USAGE, 'writeFailed', { file: context.display(outputFile), reason: context.fileErrorReason(error) });
    }
    const examples = Array.isArray(result.pack.examples) ? result.pack.examples.length : 0;
    context.err(context.text('importWritten', { file: context.display(outputFile), examples }));
  }

  if (findings.length > 0) context.err(context.text('importFindings'));
  for (const finding of findings) context.err(formatFindingLine(shownFile, finding, context.lang));
  return findings.some((finding) => finding.severity === 'error') ? EXIT_FINDINGS : EXIT_OK;
}

/** Picks the pack name: --name, else the output file name, else the input file name made valid. */
function packName(context: CliContext, inputFile: string, outputFile: string | undefined, option: string | undefined): string {
  if (option !== undefined) {
    if (!PACK_NAME_PATTERN.test(option)) throw context.error(EXIT_USAGE, 'invalidPackName', { name: option });
    return option;
  }
  if (outputFile !== undefined) {
    const fromOutput = path.basename(outputFile, path.extname(outputFile));
    if (!PACK_NAME_PATTERN.test(fromOutput)) throw context.error(EXIT_USAGE, 'invalidOutputName', { name: fromOutput });
    return fromOutput;
  }
  const slug = path
    .basename(inputFile, path.extname(inputFile))
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug === '' ? FALLBACK_NAME : slug;
}
