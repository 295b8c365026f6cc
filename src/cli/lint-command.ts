import { statSync } from 'node:fs';
import path from 'node:path';
import { listPackFiles } from '../packs/load-packs.js';
import { LINT_RULES, lintPackSource, sortFindings, type Finding } from '../packs/lint.js';
import { packFormatOf, readPackSource } from '../packs/pack-source.js';
import { loadCommandSetup } from './config-lookup.js';
import { CliContext, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './context.js';
import { formatFindingLine } from './messages.js';

/**
 * `microtune packs lint [file|folder]`: prints one line per finding and a
 * summary on stderr. Returns 1 when any finding is an error.
 */
export function runLint(context: CliContext, target: string | undefined, configOption: string | undefined): number {
  const files = lintTargets(context, target, configOption);
  const results = files.map((file) => ({ file, findings: lintFile(context, file) }));
  addDuplicateNames(results);

  const counts = { errors: 0, warnings: 0, infos: 0 };
  for (const { file, findings } of results) {
    for (const finding of sortFindings(findings)) {
      context.out(formatFindingLine(context.display(file), finding, context.lang));
      if (finding.severity === 'error') counts.errors += 1;
      else if (finding.severity === 'warning') counts.warnings += 1;
      else counts.infos += 1;
    }
  }
  context.err(context.text('lintSummary', { files: files.length, ...counts }));
  return counts.errors > 0 ? EXIT_FINDINGS : EXIT_OK;
}

function lintTargets(context: CliContext, target: string | undefined, configOption: string | undefined): string[] {
  const resolved = target === undefined ? loadCommandSetup(context, configOption).packsFolder : context.resolve(target);
  let isFolder: boolean;
  try {
    isFolder = statSync(resolved).isDirectory();
  } catch (error) {
    throw context.error(EXIT_USAGE, 'readFailed', { file: context.display(resolved), reason: context.fileErrorReason(error) });
  }

  if (!isFolder) {
    if (packFormatOf(resolved) === undefined) {
      throw context.error(EXIT_USAGE, 'unsupportedFileType', { file: context.display(resolved) });
    }
    return [resolved];
  }
  const files = listPackFiles(resolved);
  if (files.length === 0) throw context.error(EXIT_USAGE, 'noPackFiles', { folder: context.display(resolved) });
  return files;
}

function lintFile(context: CliContext, file: string): Finding[] {
  try {
    return lintPackSource(readPackSource(file)).findings;
  } catch (error) {
    throw context.error(EXIT_USAGE, 'readFailed', { file: context.display(file), reason: context.fileErrorReason(error) });
  }
}

/** Adds a duplicate-name error to every file whose pack name another file in the folder also uses. */
function addDuplicateNames(results: { file: string; findings: Finding[] }[]): void {
  const byName = new Map<string, string[]>();
  for (const { file } of results) {
    const name = path.basename(file, path.extname(file));
    byName.set(name, [...(byName.get(name) ?? []), file]);
  }
  for (const result of results) {
    const name = path.basename(result.file, path.extname(result.file));
    const others = (byName.get(name) ?? []).filter((file) => file !== result.file);
    if (others.length === 0) continue;
    result.findings.push({
      rule: 'duplicate-name',
      severity: LINT_RULES['duplicate-name'],
      line: 1,
      path: '',
      params: { name, other: others.map((file) => path.basename(file)).join(', ') },
    });
  }
}
