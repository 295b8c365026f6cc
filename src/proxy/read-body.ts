export { MAX_UPSTREAM_JSON_BYTES, readBodyText } from './upstream-body.js';

/** Shortens upstream text for an error message. */
export function quote(text: string, max = 500): string {
  const clean = text.trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
