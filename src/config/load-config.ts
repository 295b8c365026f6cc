import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { checkReferences } from './check-references.js';
import { expandEnv, type ExpansionProblem } from './expand-env.js';
import { configSchema, type ParsedConfig } from './schema.js';

export interface Config extends ParsedConfig {
  /** Absolute path of the file the config was read from. */
  file: string;
  /** packsDir resolved against the config file's folder. */
  packsPath: string;
}

/** A config problem, printed as `<file>: <field.path>: <problem>`. */
export interface ConfigProblem {
  file: string;
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatProblem(problem: ConfigProblem): string {
  return `${problem.file}: ${problem.path || '(root)'}: ${problem.message}`;
}

export function formatPath(segments: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of segments) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

export function zodProblems(file: string, error: z.ZodError): ConfigProblem[] {
  return error.issues.map((issue) => ({ file, path: formatPath(issue.path), message: issue.message }));
}

/**
 * Reads, expands and validates the config file. Throws ConfigError listing
 * every problem at once.
 */
export function loadConfig(file: string, env: Record<string, string | undefined> = process.env): Config {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(error);
    throw new ConfigError([{ file: absolute, path: '', message: `cannot read config: ${reason}` }]);
  }
  return parseConfigText(text, absolute, env);
}

export function parseConfigText(text: string, file: string, env: Record<string, string | undefined>): Config {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? `line ${error.linePos[0].line}` : '';
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ConfigError([{ file, path: where, message: `invalid YAML: ${message}` }]);
  }

  const expansionProblems: ExpansionProblem[] = [];
  const expanded = expandEnv(raw ?? {}, env, expansionProblems);
  const problems: ConfigProblem[] = [...expansionProblems, ...checkReferences(expanded)].map((problem) => ({
    file,
    path: formatPath(problem.path),
    message: problem.message,
  }));

  const result = configSchema.safeParse(expanded);
  if (!result.success) {
    // A field whose variable is unset already has a problem; the schema's
    // complaint about the resulting empty string would only repeat it.
    const reported = new Set(problems.map((problem) => problem.path));
    problems.push(...zodProblems(file, result.error).filter((problem) => !reported.has(problem.path)));
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);

  // MICROTUNE_API_KEYS (comma-separated) adds proxy keys without editing the file.
  const envKeys = (env.MICROTUNE_API_KEYS ?? '').split(',').map((key) => key.trim()).filter((key) => key !== '');
  const config: Config = {
    ...result.data,
    auth: { apiKeys: [...result.data.auth.apiKeys, ...envKeys] },
    file,
    packsPath: path.resolve(path.dirname(file), result.data.packsDir),
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
