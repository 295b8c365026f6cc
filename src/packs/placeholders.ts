/**
 * `{{char}}` and `{{user}}` placeholders, the SillyTavern spelling, matched
 * case-insensitively (`{{Char}}` works too). Any other `{{…}}` text is left
 * exactly as written.
 */
const PLACEHOLDER_PATTERN = /\{\{(char|user)\}\}/gi;

export type PlaceholderName = 'char' | 'user';

/** Values for the placeholders. An undefined value leaves its placeholder as written. */
export interface PlaceholderValues {
  char?: string | undefined;
  user?: string | undefined;
}

/**
 * Replaces `{{char}}` and `{{user}}` in one pass, so a value that itself
 * contains a placeholder is inserted literally and never expanded again.
 */
export function fillPlaceholders(text: string, values: PlaceholderValues): string {
  return text.replace(PLACEHOLDER_PATTERN, (match: string, name: string) => {
    const value = values[name.toLowerCase() as PlaceholderName];
    return value ?? match;
  });
}

/** Returns which of `{{char}}` and `{{user}}` occur in `text`. */
export function findPlaceholders(text: string): Set<PlaceholderName> {
  const found = new Set<PlaceholderName>();
  for (const match of text.matchAll(PLACEHOLDER_PATTERN)) {
    found.add(match[1]!.toLowerCase() as PlaceholderName);
  }
  return found;
}
