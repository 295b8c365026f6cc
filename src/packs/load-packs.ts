import { createHash } from 'node:crypto';
import { readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { findingMessageEn } from '../cli/messages.js';
import { lintPackSource, type Finding, type LintOptions, type RuleId } from './lint.js';
import { PACK_FILE_EXTENSIONS, packFormatOf, readPackSource } from './pack-source.js';
import { PACK_NAME_PATTERN, type Pack } from './schema.js';

export interface LoadedPack {
  name: string;
  file: string;
  pack: Pack;
  /** sha256 of the validated pack, the cache key of its rendering. */
  hash: string;
}

export interface PackFailure {
  name: string;
  file: string;
  /**
   * `<field.path>: <problem> (rule <rule-id>, line <n>)` for each error
   * finding of lint, joined with "; ", or a read problem.
   */
  problem: string;
}

/** A lint warning of a pack that loaded, for the server to log once. */
export interface PackWarning {
  name: string;
  file: string;
  line: number;
  rule: RuleId;
  /** English text, starting with the field path. */
  message: string;
}

export interface PackSet {
  packs: ReadonlyMap<string, LoadedPack>;
  failures: ReadonlyMap<string, PackFailure>;
  /** sha256 over every loaded pack's name and hash, so replicas can compare pack sets. */
  hash: string;
  /** Lint warnings of the loaded packs (not of the failed ones). Absent on sets built elsewhere. */
  warnings?: readonly PackWarning[];
}

/** A pack file's load result with the lint findings behind it. */
export interface PackFileResult {
  result: LoadedPack | PackFailure;
  findings: Finding[];
  warnings: PackWarning[];
}

export function hashPack(pack: Pack): string {
  return createHash('sha256').update(JSON.stringify(pack)).digest('hex');
}

/**
 * Parses, validates and lints one pack file (YAML, JSON, or a raw three-part
 * prompt in .txt or .md). A file with an error finding is left out. Bad
 * content or an unreadable file gives a failure, not an exception.
 */
export function lintPackFile(file: string, options: LintOptions = {}): PackFileResult {
  const name = path.basename(file, path.extname(file));
  let source;
  try {
    source = readPackSource(file);
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { result: { name, file, problem: `cannot read: ${message}` }, findings: [], warnings: [] };
  }

  const { findings, pack } = lintPackSource(source, options);
  const errors = findings.filter((finding) => finding.severity === 'error');
  if (pack === undefined || errors.length > 0) {
    const problem = errors.map(describeError).join('; ');
    return { result: { name, file, problem }, findings, warnings: [] };
  }
  const warnings = findings
    .filter((finding) => finding.severity === 'warning')
    .map((finding) => ({ name, file, line: finding.line, rule: finding.rule, message: findingMessageEn(finding) }));
  return { result: { name, file, pack, hash: hashPack(pack) }, findings, warnings };
}

/** Parses, validates and lints one pack file. Returns the pack or the reason it was left out. */
export function loadPackFile(file: string): LoadedPack | PackFailure {
  return lintPackFile(file).result;
}

function describeError(finding: Finding): string {
  const text = findingMessageEn(finding);
  const located = finding.path === '' && finding.rule === 'schema' ? `(root): ${text}` : text;
  return `${located} (rule ${finding.rule}, line ${finding.line})`;
}

/**
 * True for the files loadPackSet reads: pack extensions, and for raw prompts
 * (.txt, .md) only names that are valid pack names, so README.md and other
 * notes beside the packs stay out.
 */
export function isPackFileName(fileName: string): boolean {
  const extension = path.extname(fileName).toLowerCase();
  if (!PACK_FILE_EXTENSIONS.has(extension)) return false;
  if (packFormatOf(fileName) !== 'prompt') return true;
  return PACK_NAME_PATTERN.test(path.basename(fileName, path.extname(fileName)));
}

/** sha256 over every pack's name and hash, independent of load order. */
export function hashPackSet(packs: ReadonlyMap<string, LoadedPack>): string {
  const setHash = createHash('sha256');
  for (const [name, loaded] of [...packs].sort(([a], [b]) => a.localeCompare(b))) {
    setHash.update(`${name}:${loaded.hash}\n`);
  }
  return setHash.digest('hex');
}

/**
 * True for a regular file, or a symlink to one, as in a Kubernetes ConfigMap
 * volume, where every key is a symlink into a timestamped folder. A broken
 * link counts as no file.
 */
function isFileOrLinkToFile(folder: string, entry: Dirent): boolean {
  if (entry.isFile()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return statSync(path.join(folder, entry.name)).isFile();
  } catch {
    return false;
  }
}

/** Lists the pack files of a folder (not recursive), sorted. Throws when the folder cannot be read. */
export function listPackFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true })
    .filter((entry) => isPackFileName(entry.name) && isFileOrLinkToFile(folder, entry))
    .map((entry) => path.join(folder, entry.name))
    .sort();
}

/** Loads every pack file in a folder (not recursive). Throws when the folder cannot be read. */
export function loadPackSet(folder: string): PackSet {
  const packs = new Map<string, LoadedPack>();
  const failures = new Map<string, PackFailure>();
  const warningsByName = new Map<string, PackWarning[]>();
  for (const file of listPackFiles(folder)) {
    // The server skips the token-count rule, which would load the tokenizer's tables; `microtune packs lint` runs it.
    const { result, warnings } = lintPackFile(file, { countTokens: false });
    if (packs.has(result.name) || failures.has(result.name)) {
      failures.set(result.name, {
        name: result.name,
        file: result.file,
        problem: `another file in ${folder} already defines pack "${result.name}" (rule duplicate-name)`,
      });
      packs.delete(result.name);
      warningsByName.delete(result.name);
      continue;
    }
    if ('pack' in result) {
      packs.set(result.name, result);
      warningsByName.set(result.name, warnings);
    } else {
      failures.set(result.name, result);
    }
  }

  const warnings = [...warningsByName.values()].flat();
  return { packs, failures, hash: hashPackSet(packs), warnings };
}
