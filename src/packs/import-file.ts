import path from 'node:path';
import { importCardJson, importCardPng } from './import-card.js';
import { PackImportError, type ImportNote } from './import-problems.js';
import { importPromptText } from './import-prompt.js';
import { hasPngSignature } from './png-chunks.js';

export type ImportKind = 'prompt' | 'card-json' | 'card-png';

export interface ImportResult {
  kind: ImportKind;
  /** Card version, for card inputs. */
  version?: 'v2' | 'v3';
  /** The pack draft, to be written as YAML and linted. */
  pack: Record<string, unknown>;
  notes: ImportNote[];
}

/**
 * Converts an input file into a pack draft named `name`: a PNG (by its
 * signature) as a card image, a `.json` file or text that parses as a JSON
 * object as a card, anything else as a three-part system prompt. A `.png`
 * name without the PNG signature is rejected. Throws PackImportError for
 * input it cannot convert.
 */
export function importPackInput(bytes: Buffer, fileName: string, name: string): ImportResult {
  if (hasPngSignature(bytes)) {
    const card = importCardPng(bytes, name);
    return { kind: 'card-png', version: card.version, pack: card.pack, notes: card.notes };
  }

  const text = bytes.toString('utf8');
  if (path.extname(fileName).toLowerCase() === '.json' || isJsonObject(text)) {
    const card = importCardJson(text, name);
    return { kind: 'card-json', version: card.version, pack: card.pack, notes: card.notes };
  }
  if (path.extname(fileName).toLowerCase() === '.png') {
    // A .png name without the signature is a broken image, not a prompt.
    throw new PackImportError({ code: 'png-signature', params: {} });
  }
  return { kind: 'prompt', pack: importPromptText(text, name).pack, notes: [] };
}

/** True for text that parses as a JSON object; a prompt may start with `{{char}}`, so a leading `{` is not enough. */
function isJsonObject(text: string): boolean {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (!trimmed.startsWith('{') || trimmed.startsWith('{{')) return false;
  try {
    const value: unknown = JSON.parse(trimmed);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
