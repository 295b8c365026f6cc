// Shared helpers of the deploy/ checks: failure collection, YAML loading and
// the microtune config and packs as the server itself parses them (from dist/).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

/** Failures of one run, each "file: field: problem" with the file relative to `root`. */
export class Failures {
  list = [];

  constructor(root) {
    this.root = root;
  }

  expect(condition, file, field, problem) {
    if (!condition) this.add(file, field, problem);
    return Boolean(condition);
  }

  add(file, field, problem) {
    const relative = path.relative(this.root, file);
    const where = field === '' ? relative : `${relative}: ${field}`;
    this.list.push(`${where}: ${problem}`);
  }
}

export const isMap = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Lists the YAML files under `folder`, recursively, sorted. */
export function yamlFiles(folder) {
  const files = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) files.push(...yamlFiles(full));
    else if (/\.ya?ml$/.test(entry.name)) files.push(full);
  }
  return files.sort();
}

/**
 * Parses every document of a YAML file with merge keys (`<<:`) resolved, as
 * Compose does. Returns the documents' values; parse errors go to `failures`.
 */
export function parseYamlFile(file, failures) {
  const documents = parseAllDocuments(readFileSync(file, 'utf8'), { merge: true, prettyErrors: true });
  if (!Array.isArray(documents)) {
    failures.add(file, '', 'not a YAML stream');
    return [];
  }
  const values = [];
  for (const document of documents) {
    for (const error of document.errors) failures.add(file, '', `invalid YAML: ${error.message.split('\n')[0]}`);
    if (document.errors.length === 0 && document.contents !== null) values.push(document.toJS({ maxAliasCount: 100 }));
  }
  return values;
}

async function importDist(relative) {
  const file = path.join(REPO, 'dist', relative);
  if (!existsSync(file)) {
    throw new Error(`${path.relative(REPO, file)} is missing; run \`npm run build\` before this check`);
  }
  return import(file);
}

/**
 * Parses a microtune config text with the server's own parser and schema
 * (dist/config/load-config.js), as if it were the file `file`, with `env` for
 * ${VAR} expansion. Returns the config, or undefined after adding its problems.
 */
export async function parseMicrotuneConfig(text, file, env, failures, label) {
  const { parseConfigText, ConfigError } = await importDist('config/load-config.js');
  try {
    return parseConfigText(text, file, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) failures.add(label, `microtune config ${problem.path}`, problem.message);
    return undefined;
  }
}

/** Loads pack files given as { fileName: text } with the server's loader, from a temporary folder. */
export async function loadPacks(files) {
  const { loadPackSet } = await importDist('packs/load-packs.js');
  const folder = mkdtempSync(path.join(tmpdir(), 'microtune-check-deploy-'));
  try {
    for (const [fileName, text] of Object.entries(files)) writeFileSync(path.join(folder, fileName), text);
    return loadPackSet(folder);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Reads the pack files of `folder` as { fileName: text }, the files the server would load from it. */
export async function packFiles(folder) {
  const { isPackFileName } = await importDist('packs/load-packs.js');
  const files = {};
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (entry.isFile() && isPackFileName(entry.name)) files[entry.name] = readFileSync(path.join(folder, entry.name), 'utf8');
  }
  return files;
}

/** Converts a duration ("15s", "1m30s", "5", 20) of Compose or a `sleep` argument to seconds, or NaN. */
export function durationSeconds(value) {
  if (typeof value === 'number') return value;
  if (/^\d+(\.\d+)?$/.test(String(value ?? '').trim())) return Number(value);
  const match = /^(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(String(value ?? '').trim());
  if (match === null || (match[1] === undefined && match[2] === undefined)) return Number.NaN;
  return Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0);
}
