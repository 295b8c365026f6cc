import { Document, isScalar, Scalar, visit } from 'yaml';

/** Key order of a written pack, matching the bundled packs. */
const KEY_ORDER = ['name', 'title', 'language', 'char', 'user', 'characters', 'preamble', 'examples'];

/**
 * Writes a pack as YAML: multi-line text as `|` blocks, no line folding, and
 * `header` lines as comments at the top.
 */
export function packToYaml(pack: Record<string, unknown>, header: readonly string[] = []): string {
  const ordered: Record<string, unknown> = {};
  for (const key of KEY_ORDER) if (pack[key] !== undefined) ordered[key] = pack[key];
  for (const [key, value] of Object.entries(pack)) if (!(key in ordered)) ordered[key] = value;

  const document = new Document(ordered);
  visit(document, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === 'string' && node.value.includes('\n')) {
        node.type = Scalar.BLOCK_LITERAL;
      }
    },
  });
  if (header.length > 0) document.commentBefore = header.map((line) => ` ${line}`).join('\n');
  return document.toString({ lineWidth: 0, blockQuote: 'literal' });
}
