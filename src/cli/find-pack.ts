import { statSync } from 'node:fs';
import path from 'node:path';
import { lintPackFile, loadPackSet, type LoadedPack, type PackFailure, type PackSet } from '../packs/load-packs.js';
import type { Finding } from '../packs/lint.js';
import { packFormatOf } from '../packs/pack-source.js';
import { CliContext, EXIT_FINDINGS, EXIT_USAGE } from './context.js';
import { formatFindingLine } from './messages.js';

/** A pack that loaded, with its lint findings for display. */
export interface FoundPack {
  loaded: LoadedPack;
  findings: Finding[];
}

/** True when a command-line argument names a file rather than a pack: it has a folder part or a pack extension. */
export function looksLikeFile(argument: string): boolean {
  return argument.includes('/') || argument.includes(path.sep) || packFormatOf(argument) !== undefined;
}

/** Loads every pack of a folder as the server does. Throws CliError (exit 2) when the folder cannot be read. */
export function loadFolder(context: CliContext, folder: string): PackSet {
  try {
    return loadPackSet(folder);
  } catch (error) {
    throw context.error(EXIT_USAGE, 'readFailed', { file: context.display(folder), reason: context.fileErrorReason(error) });
  }
}

/**
 * Finds one pack by name in the packs folder, or by file path. Throws
 * CliError: exit 2 when there is no such pack or file, exit 1 when the
 * pack is left out, with the reason.
 */
export function findPack(context: CliContext, argument: string, packsFolder: string): FoundPack {
  if (looksLikeFile(argument)) {
    const file = context.resolve(argument);
    let isFolder: boolean;
    try {
      isFolder = statSync(file).isDirectory();
    } catch (error) {
      throw context.error(EXIT_USAGE, 'readFailed', { file: context.display(file), reason: context.fileErrorReason(error) });
    }
    if (isFolder) {
      throw context.error(EXIT_USAGE, 'readFailed', { file: context.display(file), reason: context.text('reasonIsFolder') });
    }
    const { result, findings } = lintPackFile(file);
    if ('pack' in result) return { loaded: result, findings };
    throw leftOut(context, result);
  }

  const set = loadFolder(context, packsFolder);
  const loaded = set.packs.get(argument);
  if (loaded !== undefined) return { loaded, findings: lintPackFile(loaded.file).findings };
  const failure = set.failures.get(argument);
  if (failure !== undefined) throw leftOut(context, failure);
  throw context.error(EXIT_USAGE, 'packNotFound', { name: argument, folder: context.display(packsFolder) });
}

export function leftOut(context: CliContext, failure: PackFailure) {
  return context.error(EXIT_FINDINGS, 'packLeftOut', { file: context.display(failure.file), problem: failure.problem });
}

/** Prints the warnings of a pack that loaded to stderr, in lint's line format. */
export function printWarnings(context: CliContext, found: FoundPack): void {
  for (const finding of found.findings) {
    if (finding.severity !== 'warning') continue;
    context.err(formatFindingLine(context.display(found.loaded.file), finding, context.lang));
  }
}
