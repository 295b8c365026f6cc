import { readBodyText as readWholeBody, type UpstreamBody } from './upstream-body.js';

/** Upstream JSON answers larger than this are rejected instead of buffered. */
export const MAX_UPSTREAM_JSON_BYTES = 64 * 1024 * 1024;

/** Reads a whole upstream body as UTF-8, failing once it passes `limit` bytes. */
export function readBodyText(body: UpstreamBody, limit = MAX_UPSTREAM_JSON_BYTES): Promise<string> {
  return readWholeBody(body, limit);
}

/** Shortens upstream text for an error message. */
export function quote(text: string, max = 500): string {
  const clean = text.trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
