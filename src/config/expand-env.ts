/**
 * Expands `${VAR}` and `${VAR:-default}` in every string of a parsed YAML
 * tree. Expansion runs after parsing, so a variable's value can never change
 * the structure of the document. `$${` is an escaped literal `${`.
 */
export interface ExpansionProblem {
  path: (string | number)[];
  message: string;
}

const PLACEHOLDER = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function expandEnv(
  value: unknown,
  env: Record<string, string | undefined>,
  problems: ExpansionProblem[],
  path: (string | number)[] = [],
): unknown {
  if (typeof value === 'string') {
    return expandString(value, env, problems, path);
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => expandEnv(item, env, problems, [...path, index]));
  }
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // defineProperty keeps a key such as "__proto__" an own property
      // instead of changing the object's prototype.
      Object.defineProperty(result, key, {
        value: expandEnv(item, env, problems, [...path, key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return result;
  }
  return value;
}

function expandString(
  text: string,
  env: Record<string, string | undefined>,
  problems: ExpansionProblem[],
  path: (string | number)[],
): string {
  if (!text.includes('${')) return text;
  return text.replace(PLACEHOLDER, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$${') return '${';
    const name_ = name as string;
    const current = env[name_];
    if (fallback !== undefined) {
      // Shell semantics of ":-": an empty variable also takes the default.
      return current === undefined || current === '' ? fallback : current;
    }
    if (current === undefined) {
      problems.push({
        path,
        message: `environment variable ${name_} is not set (write \${${name_}:-default} to give it a default)`,
      });
      return '';
    }
    return current;
  });
}
