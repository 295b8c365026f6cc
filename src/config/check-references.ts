import type { ExpansionProblem } from './expand-env.js';

/** Keys that would change an object's prototype if used as names. */
const RESERVED_NAMES = new Set(['__proto__']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Checks the names that config sections use to point at each other: every
 * upstream an alias or fallback names must be defined. It reads the raw
 * document, so these problems are reported together with type errors
 * elsewhere in the file instead of only after those are fixed.
 */
export function checkReferences(raw: unknown): ExpansionProblem[] {
  const problems: ExpansionProblem[] = [];
  if (!isRecord(raw)) return problems;
  const upstreams = isRecord(raw.upstreams) ? raw.upstreams : {};
  const aliases = isRecord(raw.aliases) ? raw.aliases : {};

  for (const [section, entries] of [['upstreams', upstreams], ['aliases', aliases]] as const) {
    for (const name of Object.keys(entries)) {
      if (RESERVED_NAMES.has(name)) {
        problems.push({ path: [section, name], message: `"${name}" is a reserved name; choose another` });
      }
    }
  }

  const known = (name: unknown) => typeof name !== 'string' || Object.hasOwn(upstreams, name);
  for (const [aliasName, alias] of Object.entries(aliases)) {
    if (!isRecord(alias)) continue;
    const upstream = alias.upstream ?? 'default';
    if (!known(upstream)) {
      problems.push({
        path: ['aliases', aliasName, 'upstream'],
        message: `names upstream "${String(upstream)}", which is not defined under upstreams`,
      });
    }
    if (alias.pack !== undefined && alias.variants !== undefined) {
      problems.push({ path: ['aliases', aliasName, 'variants'], message: 'an alias names either one pack or variants, not both' });
    }
    const summarizer = isRecord(alias.context) && isRecord(alias.context.summarizer) ? alias.context.summarizer : undefined;
    if (summarizer !== undefined && !known(summarizer.upstream ?? 'default')) {
      problems.push({
        path: ['aliases', aliasName, 'context', 'summarizer', 'upstream'],
        message: `names upstream "${String(summarizer.upstream)}", which is not defined under upstreams`,
      });
    }
    if (!Array.isArray(alias.fallbacks)) continue;
    for (const [index, fallback] of alias.fallbacks.entries()) {
      if (isRecord(fallback) && fallback.upstream !== undefined && !known(fallback.upstream)) {
        problems.push({
          path: ['aliases', aliasName, 'fallbacks', index, 'upstream'],
          message: `names upstream "${String(fallback.upstream)}", which is not defined under upstreams`,
        });
      }
    }
  }
  return problems;
}
