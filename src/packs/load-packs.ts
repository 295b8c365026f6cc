import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { formatPath } from '../config/load-config.js';
import { packSchema, type Pack } from './schema.js';

const PACK_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

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
  /** `<field.path>: <problem>`, or a read/parse problem. */
  problem: string;
}

export interface PackSet {
  packs: ReadonlyMap<string, LoadedPack>;
  failures: ReadonlyMap<string, PackFailure>;
  /** sha256 over every loaded pack's name and hash, so replicas can compare pack sets. */
  hash: string;
}

export function hashPack(pack: Pack): string {
  return createHash('sha256').update(JSON.stringify(pack)).digest('hex');
}

/**
 * Parses and validates one pack file. Returns the pack or the reason it was
 * left out; never throws for bad content.
 */
export function loadPackFile(file: string): LoadedPack | PackFailure {
  const extension = path.extname(file);
  const name = path.basename(file, extension);
  let raw: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    raw = extension === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { name, file, problem: `cannot parse: ${message}` };
  }

  const result = packSchema.safeParse(raw);
  if (!result.success) {
    const problem = result.error.issues
      .map((issue) => `${formatPath(issue.path) || '(root)'}: ${issue.message}`)
      .join('; ');
    return { name, file, problem };
  }
  if (result.data.name !== name) {
    return { name, file, problem: `name: is "${result.data.name}" but must equal the file name "${name}"` };
  }
  return { name, file, pack: result.data, hash: hashPack(result.data) };
}

/** sha256 over every pack's name and hash, independent of load order. */
export function hashPackSet(packs: ReadonlyMap<string, LoadedPack>): string {
  const setHash = createHash('sha256');
  for (const [name, loaded] of [...packs].sort(([a], [b]) => a.localeCompare(b))) {
    setHash.update(`${name}:${loaded.hash}\n`);
  }
  return setHash.digest('hex');
}

/** Loads every pack file in a folder (not recursive). */
export function loadPackSet(folder: string): PackSet {
  const packs = new Map<string, LoadedPack>();
  const failures = new Map<string, PackFailure>();
  const files = readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isFile() && PACK_EXTENSIONS.has(path.extname(entry.name)))
    .map((entry) => entry.name)
    .sort();

  for (const fileName of files) {
    const result = loadPackFile(path.join(folder, fileName));
    if (packs.has(result.name) || failures.has(result.name)) {
      failures.set(result.name, {
        name: result.name,
        file: result.file,
        problem: `another file in ${folder} already defines pack "${result.name}"`,
      });
      packs.delete(result.name);
      continue;
    }
    if ('pack' in result) packs.set(result.name, result);
    else failures.set(result.name, result);
  }

  return { packs, failures, hash: hashPackSet(packs) };
}
